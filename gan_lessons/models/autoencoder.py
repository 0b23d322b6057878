r"""The autoencoder: compress an image to a code and reconstruct it, trained by pixel error.

.. math:: \mathcal{L} = \frac{1}{N D} \sum_{i=1}^{N} \lVert x_i - g(f(\tilde x_i)) \rVert^2,
   \qquad \tilde x_i = x_i + \sigma \varepsilon_i,\ \varepsilon_i \sim \mathcal{N}(0, I)

with encoder :math:`f`, decoder :math:`g`, :math:`D = 784` pixels and :math:`\sigma = 0` for a
plain autoencoder; :math:`\sigma > 0` makes it a denoising autoencoder.
"""

from __future__ import annotations

import numpy as np

from gan_lessons.config import keras, tf
from gan_lessons.distribute import DistributedFit, replica_draw, scaled_for_replicas
from gan_lessons.models.base import SubNetworkConfig, matching_code_size, predict_in_batches

ops = keras.ops


@keras.saving.register_keras_serializable(package="gan_lessons")
class Autoencoder(DistributedFit, SubNetworkConfig, keras.Model):
    """Encoder and decoder trained together to minimise the mean squared error per pixel.

    ``noise_stddev > 0`` turns it into a denoising autoencoder: the encoder sees the input plus
    Gaussian noise drawn from the model's own ``SeedGenerator``, the loss compares with the clean
    input. ``evaluate`` measures the same objective on held-out data.
    """

    sub_networks = ("encoder", "decoder")

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        *,
        noise_stddev: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        matching_code_size(encoder, decoder)
        if noise_stddev < 0:
            raise ValueError(f"noise_stddev must be >= 0, got {noise_stddev}")
        self.encoder = encoder
        self.decoder = decoder
        self.noise_stddev = float(noise_stddev)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True  # both halves are built networks; nothing is left to infer from data

    @property
    def metrics(self) -> list:
        """Trackers that ``fit`` and ``evaluate`` reset at the start of every epoch."""
        return [self.loss_tracker]

    def call(self, x, training: bool = False):
        return self.decoder(self.encoder(x, training=training), training=training)

    def corrupt(self, x):
        """Add the denoising noise; fresh draws every call thanks to the seed generator."""
        if self.noise_stddev == 0:
            return x
        return x + self.noise_stddev * replica_draw(keras.random.normal, ops.shape(x), self.seed_generator)

    @staticmethod
    def reconstruction_loss(x, x_hat):
        """Mean squared error over pixels and batch, the quantity PCA also minimises."""
        return ops.mean(ops.square(ops.cast(x, x_hat.dtype) - x_hat))

    def _unpack(self, data):
        """The images of a batch; raw 0–255 pixels stop training with a clear error."""
        x, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError("Autoencoder does not support sample weights")
        tf.debugging.assert_less_equal(
            ops.max(ops.abs(ops.cast(x, "float32"))), 1.0 + 1e-3,
            message="Autoencoder expects pixels scaled to [0, 1] or [-1, 1]; use data.scale_pixels",
        )
        return x

    def train_step(self, data):
        x = self._unpack(data)
        with tf.GradientTape() as tape:
            x_hat = self(self.corrupt(x), training=True)
            loss = self.reconstruction_loss(x, x_hat) + sum(self.losses)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(scaled_for_replicas(gradients), self.trainable_variables)
        self.loss_tracker.update_state(loss)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x = self._unpack(data)
        x_hat = self(self.corrupt(x), training=False)
        self.loss_tracker.update_state(self.reconstruction_loss(x, x_hat))
        return {m.name: m.result() for m in self.metrics}

    def encode(self, images, batch_size: int = 256) -> np.ndarray:
        """Codes for a batch of images, as a NumPy array."""
        return predict_in_batches(self.encoder, images, batch_size)

    def decode(self, codes, batch_size: int = 256) -> np.ndarray:
        """Images for a batch of codes, as a NumPy array."""
        return predict_in_batches(self.decoder, codes, batch_size)

    def reconstruct(self, images, batch_size: int = 256) -> np.ndarray:
        """Decode the codes of ``images`` (no corruption): what the autoencoder remembers."""
        return self.decode(self.encode(images, batch_size), batch_size)

    def get_config(self) -> dict:
        config = {**super().get_config(), **self.sub_network_config()}
        return {**config, "noise_stddev": self.noise_stddev, "seed": self.seed}
