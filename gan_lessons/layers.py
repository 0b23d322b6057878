"""Layers the models share."""

from __future__ import annotations

from gan_lessons.config import keras
from gan_lessons.distribute import replica_draw, replicas_in_sync

ops = keras.ops


@keras.saving.register_keras_serializable(package="gan_lessons")
class Sampling(keras.layers.Layer):
    r"""The reparameterization trick: :math:`z = \mu + \exp(\tfrac12 \log\sigma^2)\,\varepsilon`,
    :math:`\varepsilon \sim \mathcal N(0, I)`, so gradients flow to μ and log σ².

    Noise comes from the layer's own ``SeedGenerator``: fresh every call, reproducible per seed.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, z_mean, z_log_var):
        epsilon = replica_draw(keras.random.normal, ops.shape(z_mean), self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="gan_lessons")
class ReplicaDropout(keras.layers.Dropout):
    """Keras' ``Dropout``; under a ``tf.distribute`` strategy each replica keeps its own rows of one mask
    drawn for the global batch. (Plain ``Dropout`` draws from a seed state every replica holds the
    same copy of, so every replica would drop the same units of its share.) With a ``noise_shape``,
    or a rate of 0 or 1, it is plain ``Dropout``."""

    def call(self, inputs, training=False):
        if replicas_in_sync() == 1 or not training or self.noise_shape is not None or not 0 < self.rate < 1:
            return super().call(inputs, training=training)
        uniform = replica_draw(keras.random.uniform, ops.shape(inputs), self.seed_generator)
        kept = ops.cast(uniform >= self.rate, inputs.dtype)
        return inputs * (1.0 / (1.0 - self.rate)) * kept


@keras.saving.register_keras_serializable(package="gan_lessons")
class ReplicaBatchNormalization(keras.layers.BatchNormalization):
    """Keras' ``BatchNormalization``; under a ``tf.distribute`` strategy its batch statistics are the
    global batch's (summed across replicas), not each replica's share's. On one device it computes
    exactly what the plain layer computes (``synchronized=True`` would not: it changes the formula)."""

    def _moments(self, inputs, mask):
        if mask is None and replicas_in_sync() > 1:
            return ops.moments(inputs, axes=self._reduction_axes, synchronized=True)
        return super()._moments(inputs, mask)


@keras.saving.register_keras_serializable(package="gan_lessons")
class LabelPlanes(keras.layers.Layer):
    """One constant plane per class for each image, shaped like the image: plane k is all ones where
    the label is k and all zeros elsewhere — (B, H, W, ·) and (B,) labels → (B, H, W, num_classes)."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)

    def call(self, inputs):
        image, label = inputs
        one_hot = ops.one_hot(ops.cast(label, "int32"), self.num_classes, dtype=image.dtype)
        return ops.ones_like(image[..., :1]) * one_hot[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], self.num_classes)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_classes": self.num_classes}
