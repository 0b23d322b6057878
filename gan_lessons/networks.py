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


def _strided_convolutions(inputs, filters: Sequence[int]):
    """Strided 3×3 ReLU convolutions (28 → 14 → 7 pixels for two layers), flattened."""
    x = inputs
    for width in filters:
        x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(x)
    return layers.Flatten()(x)


def conv_encoder(
    latent_dim: int, filters: Sequence[int] = (32, 64), *, name: str = "encoder"
) -> keras.Model:
    """Strided 3×3 convolutions (28 → 14 → 7 pixels for two layers), then a linear code."""
    inputs = keras.Input(IMAGE_INPUT, name="image")
    x = _strided_convolutions(inputs, filters)
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


def _gaussian_head(inputs, x, latent_dim: int, name: str) -> keras.Model:
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    return keras.Model(inputs, [z_mean, z_log_var], name=name)


def gaussian_encoder(
    latent_dim: int, hidden: Sequence[int] = (512, 256), *, name: str = "encoder"
) -> keras.Model:
    """Image → ReLU ``Dense`` layers → (μ, log σ²) of a diagonal Gaussian q(z | x): a VAE's encoder."""
    inputs = keras.Input(IMAGE_INPUT, name="image")
    x = layers.Flatten()(inputs)
    for units in hidden:
        x = layers.Dense(units, activation="relu")(x)
    return _gaussian_head(inputs, x, latent_dim, name)


def conv_gaussian_encoder(
    latent_dim: int, filters: Sequence[int] = (32, 64), hidden: int = 256, *, name: str = "encoder"
) -> keras.Model:
    """Strided convolutions → one ReLU ``Dense`` layer → (μ, log σ²): the VAE-GAN's encoder."""
    inputs = keras.Input(IMAGE_INPUT, name="image")
    x = layers.Dense(hidden, activation="relu")(_strided_convolutions(inputs, filters))
    return _gaussian_head(inputs, x, latent_dim, name)


def mlp_generator(
    latent_dim: int, output_dim: int = 2, hidden: Sequence[int] = (128, 128), *, name: str = "generator"
) -> keras.Model:
    """Noise → points in ``output_dim`` dimensions through ReLU ``Dense`` layers (2-D toy GANs)."""
    inputs = keras.Input((latent_dim,), name="noise")
    x = inputs
    for units in hidden:
        x = layers.Dense(units, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(output_dim, name="point")(x), name=name)


def mlp_discriminator(
    input_dim: int = 2, hidden: Sequence[int] = (128, 128), *, name: str = "discriminator"
) -> keras.Model:
    """Points → one real/fake logit (linear output: losses work on logits)."""
    inputs = keras.Input((input_dim,), name="point")
    x = inputs
    for units in hidden:
        x = layers.Dense(units)(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
    return keras.Model(inputs, layers.Dense(1, name="logit")(x), name=name)


def dcgan_generator(
    latent_dim: int = 100, width: int = 128, *, extra_convolutions: int = 0, name: str = "generator"
) -> keras.Model:
    """DCGAN-style generator (Radford et al. 2016): a 7×7 map, two strided transposed
    convolutions with batch norm and LeakyReLU, tanh output in [−1, 1].

    ``extra_convolutions`` adds 3×3 convolutions (same BN/LeakyReLU) at 14×14, before the last
    upsampling: more capacity where the strokes are shaped, for about 25 % more time per step.
    """
    inputs = keras.Input((latent_dim,), name="noise")
    x = layers.Dense(7 * 7 * width, use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Reshape((7, 7, width))(x)
    x = layers.Conv2DTranspose(width // 2, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    for _ in range(extra_convolutions):
        x = layers.Conv2D(width // 2, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
    outputs = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh", name="pixels")(x)
    return keras.Model(inputs, outputs, name=name)


def dcgan_discriminator(width: int = 64, dropout: float = 0.3, *, name: str = "discriminator") -> keras.Model:
    """DCGAN-style discriminator: strided convolutions with LeakyReLU (no batch norm), one logit.

    The activations of the two convolutions are named ``features_1`` (14×14) and ``features_2``
    (7×7): the layers a VAE-GAN can measure reconstructions in.
    """
    inputs = keras.Input(IMAGE_INPUT, name="image")
    x = inputs
    for depth, filters in enumerate((width, 2 * width), start=1):
        x = layers.Conv2D(filters, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"features_{depth}")(x)
        x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs, layers.Dense(1, name="logit")(x), name=name)
