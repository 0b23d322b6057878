"""A long run as a lesson makes one, for tests/test_resume_after_a_crash.py to kill and restart.

    python tests/crash_run.py gan|vae EPOCHS WEIGHTS.npz [WAIT_AFTER_EPOCH]

Trains a small GAN (shuffled digits) or VAE (digits binarized afresh every epoch) from a
``data.make_dataset`` pipeline with ``callbacks.long_run``, prints ``saved epoch N`` after each
epoch's state is on disk, and writes the final weights. With WAIT_AFTER_EPOCH it stops after that
epoch's save and waits to be killed. Long-run state goes under ``$GAN_LESSONS_STATE``.
"""

import sys
import time

import numpy as np

from gan_lessons import callbacks, config, data, networks
from gan_lessons.config import keras
from gan_lessons.models import GAN, VAE


class Announce(keras.callbacks.Callback):
    def __init__(self, wait_after: int | None):
        super().__init__()
        self.wait_after = wait_after

    def on_epoch_end(self, epoch, logs=None):
        print(f"saved epoch {epoch + 1}", flush=True)  # long_run's callbacks ran first: the state is on disk
        if epoch + 1 == self.wait_after:
            time.sleep(600)  # the test kills the process here


def main(kind: str, epochs: int, out: str, wait_after: int | None) -> None:
    digits = data.load_digits(n_train=256, n_test=10, verbose=False).x_train
    config.seed_everything(0)
    if kind == "gan":
        x = data.scale_pixels(digits, "signed").reshape(len(digits), -1)
        model = GAN(networks.mlp_generator(4, 784, (16,)), networks.mlp_discriminator(784, (16,)), ema=0.9, seed=0)
        model.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
        pipeline = data.make_dataset(x, batch_size=32, seed=0)
    else:
        x = data.scale_pixels(digits)
        model = VAE(networks.gaussian_encoder(4, hidden=(16,)), networks.dense_decoder(4, hidden=(16,),
                    output_activation=None), seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        pipeline = data.make_dataset(x, batch_size=32, seed=0, dynamic_binarization=True)
    model.fit(pipeline, epochs=epochs, verbose=0,
              callbacks=[*callbacks.long_run(f"crash_{kind}", pipeline), Announce(wait_after)])
    np.savez(out, *[keras.ops.convert_to_numpy(v) for v in model.weights])


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else None)
