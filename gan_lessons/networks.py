"""Builders for the sub-networks that the models are assembled from.

Every image network works on (28, 28, 1) tensors; encoders end in a linear ``Dense`` layer (the
code), decoders end in the activation that matches the data's value range (sigmoid ↔ [0, 1],
tanh ↔ [−1, 1], ``None`` for a linear decoder).
"""

from __future__ import annotations

from collections.abc import Sequence

from gan_lessons.config import keras

IMAGE_INPUT = (28, 28, 1)
layers = keras.layers


def dense_encoder(
    latent_dim: int, hidden: Sequence[int] = (512, 256), *, name: str = "encoder"
) -> keras.Model:
    """Flatten → ReLU ``Dense`` layers of sizes ``hidden`` → linear code of size ``latent_dim``.

    With ``hidden=()`` it is a single linear map, the encoder of a linear autoencoder.
    """
    inputs = keras.Input(IMAGE_INPUT, name="image")
    x = layers.Flatten()(inputs)
    for units in hidden:
        x = layers.Dense(units, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(latent_dim, name="code")(x), name=name)


def dense_decoder(
    latent_dim: int,
    hidden: Sequence[int] = (256, 512),
    *,
    output_activation: str | None = "sigmoid",
    name: str = "decoder",
) -> keras.Model:
    """Code → ReLU ``Dense`` layers of sizes ``hidden`` → 784 outputs reshaped to an image."""
    inputs = keras.Input((latent_dim,), name="code")
    x = inputs
    for units in hidden:
        x = layers.Dense(units, activation="relu")(x)
    x = layers.Dense(28 * 28, activation=output_activation, name="pixels")(x)
    return keras.Model(inputs, layers.Reshape(IMAGE_INPUT)(x), name=name)


def conv_encoder(
    latent_dim: int, filters: Sequence[int] = (32, 64), *, name: str = "encoder"
) -> keras.Model:
    """Strided 3×3 convolutions (28 → 14 → 7 pixels for two layers), then a linear code."""
    inputs = keras.Input(IMAGE_INPUT, name="image")
    x = inputs
    for width in filters:
        x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs, layers.Dense(latent_dim, name="code")(x), name=name)


def conv_decoder(
    latent_dim: int,
    filters: Sequence[int] = (64, 32),
    *,
    output_activation: str | None = "sigmoid",
    name: str = "decoder",
) -> keras.Model:
    """Mirror of :func:`conv_encoder`: a 7×7 feature map, strided transposed convolutions up
    to 28×28, then a 3×3 convolution to one channel."""
    if 28 % 2 ** len(filters):
        raise ValueError(f"28 pixels cannot be halved {len(filters)} times; use at most 2 filters")
    side = 28 // 2 ** len(filters)
    inputs = keras.Input((latent_dim,), name="code")
    x = layers.Dense(side * side * filters[0], activation="relu")(inputs)
    x = layers.Reshape((side, side, filters[0]))(x)
    for width in filters:
        x = layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu")(x)
    outputs = layers.Conv2D(1, 3, padding="same", activation=output_activation, name="pixels")(x)
    return keras.Model(inputs, outputs, name=name)
