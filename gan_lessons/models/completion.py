r"""Image-to-image translation with a conditional GAN (pix2pix, Isola et al. 2017), here completing
a digit from its visible part.

The generator :math:`G(c, z)` sees the condition :math:`c` (the visible pixels and a mask) and noise;
a PatchGAN discriminator :math:`D(c, x)` judges (condition, digit) pairs patch by patch. The generator
minimises a pixel term and, unless ``adversarial=False``, the non-saturating GAN term:

.. math:: \mathcal L_G = \lambda\,\mathbb E\,\lVert x - G(c, z)\rVert_1 + \mathrm{BCE}(1, D(c, G(c, z))), \qquad
          \mathcal L_D = \mathrm{BCE}(1, D(c, x)) + \mathrm{BCE}(0, D(c, G(c, z))),

with the BCE averaged over patches and the L1 over pixels. With the adversarial term off, the L1 alone
is minimised by the per-pixel median of the plausible completions: for an ambiguous top half, strokes
that belong to none of them (broken or missing), blurred further by the network's approximation.
"""

from __future__ import annotations

import numpy as np

from gan_lessons.config import keras
from gan_lessons.losses import generator_loss
from gan_lessons.models.base import predict_in_batches
from gan_lessons.models.gan import GAN

ops = keras.ops


def top_half_condition(images: np.ndarray, visible_rows: int = 14, value_range: str = "signed") -> np.ndarray:
    """The condition for completing digits from their top rows: the image with every row from
    ``visible_rows`` down set to the background, and a mask channel (1 where visible)."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ValueError(f"top_half_condition takes digits of shape (N, 28, 28, 1), got {images.shape}")
    background = -1.0 if value_range == "signed" else 0.0
    visible = np.zeros((28, 28, 1), np.float32)
    visible[:visible_rows] = 1.0
    hidden = np.where(visible > 0, images, background)
    return np.concatenate([hidden, np.broadcast_to(visible, images.shape)], axis=-1)


@keras.saving.register_keras_serializable(package="gan_lessons")
class Completion(GAN):
    """Generator (condition, z) → digit and PatchGAN (condition, digit) → patch logits, trained on
    ``(condition, digit)`` batches; ``l1_weight`` is λ. Trackers as ``GAN``'s, plus ``l1``."""

    sub_networks = ("generator", "discriminator")

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *, l1_weight: float = 100.0,
                 adversarial: bool = True, **gan_options):
        if len(generator.inputs) != 2 or len(discriminator.inputs) != 2:
            raise ValueError("Completion needs a generator (condition, noise) → image and a discriminator "
                             "(condition, image) → logits: build them with networks.unet_completer and "
                             "networks.patch_discriminator")
        if l1_weight < 0:
            raise ValueError(f"l1_weight must be ≥ 0, got {l1_weight}")
        super().__init__(generator, discriminator, **gan_options)
        self.noise_shape = tuple(int(d) for d in generator.inputs[1].shape[1:])
        self.l1_weight = float(l1_weight)
        self.adversarial = bool(adversarial)
        self.trackers["l1"] = keras.metrics.Mean(name="l1")

    def real_batch(self, data):
        condition, target, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None or target is None:
            raise ValueError("Completion trains on (condition, digit) batches without sample weights: e.g. "
                             "data.make_dataset(top_half_condition(x), x, ...)")
        return target, condition

    def fakes(self, batch_size, condition, training: bool = False):
        return self.generator([condition, self._noise(batch_size)], training=training)

    def judge(self, x, condition, training: bool = False):
        return self.discriminator([condition, x], training=training)

    def generator_objective(self, fake, real, condition, fake_logits):
        l1 = ops.mean(ops.abs(real - fake))
        self.trackers["l1"].update_state(l1)
        adversarial = generator_loss(fake_logits) if self.adversarial else ops.zeros(())
        return self.l1_weight * l1 + adversarial

    def call(self, inputs, training: bool = False):
        condition, noise = inputs
        return self.generator([condition, noise], training=training)

    def complete(self, condition, seed: int = 0, batch_size: int = 256) -> np.ndarray:
        """One completion per condition, from fixed noise (reproducible per seed)."""
        condition = np.asarray(condition, dtype=np.float32)
        noise = np.random.default_rng(seed).standard_normal((len(condition), *self.noise_shape)).astype(np.float32)
        return predict_in_batches(self.ema_generator or self.generator, [condition, noise], batch_size)

    def get_config(self) -> dict:
        config = super().get_config()
        for name in ("saturating", "packing"):
            config.pop(name)
        return {**config, "l1_weight": self.l1_weight, "adversarial": self.adversarial}
