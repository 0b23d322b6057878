r"""A class-conditional GAN (Mirza & Osindero 2014): G(z, y) draws a sample of the requested class,
D(x, y) judges whether x is a real sample *of class y*.

The losses are the GAN's (non-saturating, on logits); only what the players see changes:

.. math:: \mathcal L_D = \mathrm{BCE}(t, \sigma(D(x, y))) + \mathrm{BCE}(0, \sigma(D(G(z, y), y))), \qquad
          \mathcal L_G = \mathrm{BCE}(1, \sigma(D(G(z, y), y))),

with D's logit, the sigmoid σ and the real target t (``real_label``: 1, or 0.9 with one-sided smoothing).

Batches are ``(images, labels)`` with integer labels; each fake is generated for the label of a
real image of the same batch, so fakes follow the data's class balance.
"""

from __future__ import annotations

import numpy as np

from gan_lessons.config import keras, tf
from gan_lessons.models.base import predict_in_batches
from gan_lessons.models.gan import GAN

ops = keras.ops


@keras.saving.register_keras_serializable(package="gan_lessons")
class ConditionalGAN(GAN):
    """Generator (z, y) → x and discriminator (x, y) → logit; trackers as ``GAN``'s."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *, num_classes: int = 10, **gan_options):
        for role, network in (("generator", generator), ("discriminator", discriminator)):
            if len(network.inputs) != 2:
                raise ValueError(f"a conditional {role} takes two inputs (its sample or noise, and the label), "
                                 f"got {len(network.inputs)}: build it with networks.conditional_dcgan_generator / "
                                 "networks.projection_discriminator")
        if gan_options.get("packing", 1) != 1:
            raise ValueError("ConditionalGAN does not pack samples")
        super().__init__(generator, discriminator, **gan_options)
        self.num_classes = int(num_classes)

    def checked_labels(self, labels):
        """Labels as int32 of shape (B,), with a clear error when they are not class indices."""
        message = (f"{type(self).__name__} needs integer class labels in [0, {self.num_classes}) of shape (B,) or "
                   "(B, 1), one per image (not one-hot vectors)")
        if labels.shape.rank is not None and labels.shape.rank > 1 and labels.shape[-1] != 1:
            raise ValueError(f"{message}; got shape {tuple(labels.shape)}")
        labels = ops.reshape(labels, (-1,))
        if not labels.dtype.is_integer:
            tf.debugging.assert_equal(labels, ops.round(labels), message=message)
        labels = ops.cast(labels, "int32")
        tf.debugging.assert_greater_equal(ops.min(labels), 0, message=message)
        tf.debugging.assert_less(ops.max(labels), self.num_classes, message=message)
        return labels

    def real_batch(self, data):
        real, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError("ConditionalGAN does not support sample weights")
        if labels is None:
            raise ValueError("ConditionalGAN trains on (images, labels) batches: build the dataset with "
                             "data.make_dataset(x, y, ...)")
        labels = self.checked_labels(labels)
        tf.debugging.assert_equal(ops.shape(labels)[0], ops.shape(real)[0],
                                  message="one label per image: the batch's images and labels differ in number")
        return real, labels

    def fakes(self, batch_size, condition, training: bool = False):
        return self.generator([self._noise(batch_size), condition], training=training)

    def judge(self, x, condition, training: bool = False):
        return self.discriminator([x, condition], training=training)

    def call(self, inputs, training: bool = False):
        noise, labels = inputs
        return self.generator([noise, labels], training=training)

    def generate(self, n: int, seed: int = 0, batch_size: int = 256, labels=None) -> np.ndarray:
        """n samples from fixed noise (reproducible per seed) for the given labels — by default the
        classes in turn, 0, 1, …, so that any n is as balanced as it can be."""
        noise = np.random.default_rng(seed).standard_normal((n, *self.noise_shape)).astype(np.float32)
        labels = np.arange(n) % self.num_classes if labels is None else np.asarray(labels)
        return self.decode(noise, labels, batch_size)

    def decode(self, noise, labels, batch_size: int = 256) -> np.ndarray:
        """The (weight-averaged, when ``ema`` is on) generator's output for given noise and labels."""
        noise = np.asarray(noise, dtype=np.float32)
        labels = np.asarray(labels)
        if labels.ndim > 1 and labels.shape[-1] != 1:
            raise ValueError(f"one integer class per noise vector is needed, not one-hot vectors: got labels of shape "
                             f"{labels.shape}")
        labels = labels.reshape(-1)
        if len(labels) != len(noise):
            raise ValueError(f"one label per noise vector: got {len(labels)} labels for {len(noise)} vectors")
        if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"labels must be integers in [0, {self.num_classes}), got {labels[:5]}…")
        return predict_in_batches(self.ema_generator or self.generator, [noise, labels], batch_size)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("packing")
        return {**config, "num_classes": self.num_classes}
