"""Builders for the sub-networks that the models are assembled from.

Every image network works on (28, 28, 1) tensors; encoders end in a linear ``Dense`` layer (the
code), decoders end in the activation that matches the data's value range (sigmoid ↔ [0, 1],
tanh ↔ [−1, 1], ``None`` for a linear decoder).
"""

from __future__ import annotations

from collections.abc import Sequence

from gan_lessons.config import keras
from gan_lessons.layers import LabelPlanes, ReplicaBatchNormalization, ReplicaDropout

IMAGE_INPUT = (28, 28, 1)
layers = keras.layers
ops = keras.ops


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
    x = ReplicaBatchNormalization()(x)
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Reshape((7, 7, width))(x)
    x = layers.Conv2DTranspose(width // 2, 4, strides=2, padding="same", use_bias=False)(x)
    x = ReplicaBatchNormalization()(x)
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    for _ in range(extra_convolutions):
        x = layers.Conv2D(width // 2, 3, padding="same", use_bias=False)(x)
        x = ReplicaBatchNormalization()(x)
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
        x = ReplicaDropout(dropout)(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs, layers.Dense(1, name="logit")(x), name=name)


def lstm_generator(
    noise_dim: int = 5, steps: int = 30, units: int = 100, features: int = 1, *,
    output_activation: str | None = "tanh", name: str = "generator",
) -> keras.Model:
    """Per-step noise (steps, noise_dim) → LSTM → the same ``Dense`` at every step: a sequence of
    ``features`` values per step (the RCGAN generator, Esteban et al. 2017)."""
    inputs = keras.Input((steps, noise_dim), name="noise")
    x = layers.LSTM(units, return_sequences=True)(inputs)
    return keras.Model(inputs, layers.Dense(features, activation=output_activation, name="values")(x), name=name)


def lstm_discriminator(
    steps: int = 30, features: int = 1, units: int = 100, *, per_step: bool = False, name: str = "discriminator"
) -> keras.Model:
    """Sequence → LSTM → real/fake logits: one per step (``per_step``, as in RCGAN) or one for the
    whole sequence from the last hidden state. The LSTM layer is named ``features`` (what a
    sequence VAE-GAN compares reconstructions in)."""
    inputs = keras.Input((steps, features), name="sequence")
    x = layers.LSTM(units, return_sequences=per_step, name="features")(inputs)
    return keras.Model(inputs, layers.Dense(1, name="logit")(x), name=name)


def lstm_gaussian_encoder(
    latent_dim: int, steps: int, features: int, units: int = 128, *, name: str = "encoder"
) -> keras.Model:
    """Sequence (steps, features) → LSTM → last hidden state → (μ, log σ²): a sequence VAE's encoder."""
    inputs = keras.Input((steps, features), name="sequence")
    return _gaussian_head(inputs, layers.LSTM(units)(inputs), latent_dim, name)


@keras.saving.register_keras_serializable(package="gan_lessons")
class RecurrentDecoder(keras.Model):
    """z → a sequence, one step at a time, with one LSTM cell.

    The cell's input at step t is the previous value x_{t−1} (zeros at t = 0): the true one when
    trained (teacher forcing, :meth:`call`), its own prediction when generating (free running,
    :meth:`generate`). ``condition`` says where z enters: ``"state"`` (the initial state only —
    the decoder can learn to ignore it), ``"input"`` (concatenated to every step's input) or
    ``"both"``. Outputs are linear (logits or values); ``feedback`` maps them to the next input:
    ``"sample"`` (a Bernoulli draw from the logits: ancestral sampling, the inputs binarized
    training data gives), ``"sigmoid"`` (the probabilities themselves), ``"identity"``, or
    ``"none"`` — the decoder never sees previous values and has to write the sequence from z alone.
    """

    FEEDBACKS = ("sample", "sigmoid", "identity", "none")

    CONDITIONS = ("state", "input", "both")

    def __init__(self, latent_dim: int, steps: int, features: int, units: int = 128, *,
                 condition: str = "both", feedback: str = "sample", **kwargs):
        super().__init__(**kwargs)
        if condition not in self.CONDITIONS:
            raise ValueError(f"condition must be one of {self.CONDITIONS}, got {condition!r}")
        if feedback not in self.FEEDBACKS:
            raise ValueError(f"feedback must be one of {self.FEEDBACKS}, got {feedback!r}")
        if feedback == "none" and condition == "state":
            raise ValueError("without feedback the decoder needs z as an input at every step ('input' or 'both')")
        self.latent_dim, self.steps, self.features, self.units = latent_dim, steps, features, units
        self.condition, self.feedback = condition, feedback
        self.cell = layers.LSTMCell(units, name="cell")
        self.rnn = layers.RNN(self.cell, return_sequences=True, name="rnn")
        conditions_state = condition != "input"
        self.to_state = layers.Dense(2 * units, activation="tanh", name="initial_state") if conditions_state else None
        self.to_output = layers.Dense(features, name="output")
        self.build([(None, latent_dim), (None, steps, features)])

    def build(self, input_shape):
        z_shape, sequence_shape = input_shape
        step_input = sequence_shape[-1] + (self.latent_dim if self.condition != "state" else 0)
        self.cell.build((None, step_input))
        self.rnn.built = True
        if self.to_state is not None:
            self.to_state.build(z_shape)
        self.to_output.build((None, self.units))
        self.built = True

    def _initial_state(self, z):
        if self.to_state is None:
            zeros = ops.zeros((ops.shape(z)[0], self.units), dtype=z.dtype)
            return [zeros, zeros]
        h, c = ops.split(self.to_state(z), 2, axis=-1)
        return [h, c]

    def call(self, inputs, training: bool = False):
        """Teacher forcing: ``inputs = [z, previous]`` with ``previous`` the sequence shifted right
        by one step. Returns the outputs for every step, (batch, steps, features)."""
        z, previous = inputs
        if self.feedback == "none":
            previous = ops.zeros_like(previous)
        if self.condition != "state":
            previous = ops.concatenate([previous, ops.repeat(z[:, None, :], ops.shape(previous)[1], axis=1)], axis=-1)
        return self.to_output(self.rnn(previous, initial_state=self._initial_state(z), training=training))

    def generate(self, z, *, feedback: str | None = None, temperature: float = 1.0, seed=None,
                 steps: int | None = None):
        """Free running: each step's output, mapped by ``feedback`` (default: the decoder's own),
        is the next step's input. ``"sample"`` draws from sigmoid(logit / ``temperature``) with
        ``seed`` (an int or a ``keras.random.SeedGenerator``); lower temperatures are greedier.
        ``steps`` (default: the training length) may be longer: the cell simply keeps running."""
        feedback = self.feedback if feedback is None else feedback
        if feedback not in self.FEEDBACKS or (feedback == "none") != (self.feedback == "none"):
            raise ValueError(f"feedback must be one of {self.FEEDBACKS} and 'none' only for a decoder trained so")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        steps = self.steps if steps is None else int(steps)
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        z = ops.convert_to_tensor(z, dtype="float32")
        seed = seed if isinstance(seed, keras.random.SeedGenerator) else keras.random.SeedGenerator(seed)
        state = self._initial_state(z)
        value = ops.zeros((ops.shape(z)[0], self.features))
        outputs = []
        for _ in range(steps):
            step_input = value if self.condition == "state" else ops.concatenate([value, z], axis=-1)
            hidden, state = self.cell(step_input, state)
            output = self.to_output(hidden)
            outputs.append(output)
            if feedback == "sample":
                uniform = keras.random.uniform(ops.shape(output), seed=seed)
                value = ops.cast(uniform < ops.sigmoid(output / temperature), output.dtype)
            elif feedback == "sigmoid":
                value = ops.sigmoid(output)
            elif feedback == "identity":
                value = output
        return ops.stack(outputs, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "latent_dim": self.latent_dim, "steps": self.steps, "features": self.features,
                "units": self.units, "condition": self.condition, "feedback": self.feedback}


# ---------------------------------------------------------------- conditional (class-labelled) networks

def conditional_dcgan_generator(
    latent_dim: int = 64, num_classes: int = 10, embedding_dim: int = 32, width: int = 128, *,
    extra_convolutions: int = 1, name: str = "generator"
) -> keras.Model:
    """G(z, y): lesson 03's DCGAN generator fed the noise concatenated with a learned embedding of
    the label (Mirza & Osindero 2014, with an embedding instead of a one-hot vector)."""
    noise = keras.Input((latent_dim,), name="noise")
    label = keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(num_classes, embedding_dim, name="label_embedding")(label)
    body = dcgan_generator(latent_dim + embedding_dim, width, extra_convolutions=extra_convolutions,
                           name="unconditional_body")
    return keras.Model([noise, label], body(layers.Concatenate()([noise, embedded])), name=name)


def _conv_features(x, width: int, dropout: float):
    for depth, filters in enumerate((width, 2 * width), start=1):
        x = layers.Conv2D(filters, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"features_{depth}")(x)
        x = ReplicaDropout(dropout)(x)
    return layers.Flatten(name="phi")(x)


def projection_discriminator(width: int = 32, dropout: float = 0.3, num_classes: int = 10, *,
                             name: str = "discriminator") -> keras.Model:
    """D(x, y) = ψ(φ(x)) + ⟨embed(y), φ(x)⟩ (Miyato & Koyama 2018): lesson 03's convolutions give
    φ(x); a linear ψ scores realism, and the inner product with the label's embedding scores how well
    x fits its label."""
    image = keras.Input(IMAGE_INPUT, name="image")
    label = keras.Input((), dtype="int32", name="label")
    features = _conv_features(image, width, dropout)
    unconditional = layers.Dense(1, name="psi")(features)
    embedded = layers.Embedding(num_classes, features.shape[-1], name="label_projection")(label)
    projection = layers.Dot(axes=1, name="projection")([embedded, features])
    return keras.Model([image, label], layers.Add(name="logit")([unconditional, projection]), name=name)


def concatenation_discriminator(width: int = 32, dropout: float = 0.3, num_classes: int = 10, *,
                                name: str = "discriminator") -> keras.Model:
    """D(x, y) on the image stacked with one constant plane per class (plane k is 1 everywhere when
    y = k, else 0): the classic conditional discriminator's input, built channel by channel."""
    image = keras.Input(IMAGE_INPUT, name="image")
    label = keras.Input((), dtype="int32", name="label")
    x = layers.Concatenate(name="image_and_label_planes")([image, LabelPlanes(num_classes)([image, label])])
    logit = layers.Dense(1, name="logit")(_conv_features(x, width, dropout))
    return keras.Model([image, label], logit, name=name)


# ---------------------------------------------------------------- image to image (digit completion)

def unet_completer(noise_dim: int = 16, width: int = 32, *, name: str = "completer") -> keras.Model:
    """G(c, z): a small U-Net from a condition image c (the visible part of a digit and a mask
    channel, (28, 28, 2)) and a noise vector z to the whole digit in [−1, 1]. Down 28 → 14 → 7 with
    ``width``, 2·``width`` and 4·``width`` filters; z joins at the 7×7 bottleneck; up again with skip
    connections from the encoder (Ronneberger et al. 2015; Isola et al. 2017)."""
    condition = keras.Input((*IMAGE_INPUT[:2], 2), name="condition")
    noise = keras.Input((noise_dim,), name="noise")
    skip_28 = layers.LeakyReLU(negative_slope=0.2)(layers.Conv2D(width, 3, padding="same")(condition))
    skip_14 = layers.LeakyReLU(negative_slope=0.2)(layers.Conv2D(2 * width, 4, strides=2, padding="same")(skip_28))
    bottom = layers.LeakyReLU(negative_slope=0.2)(layers.Conv2D(4 * width, 4, strides=2, padding="same")(skip_14))
    noise_map = layers.Reshape((7, 7, 4))(layers.Dense(7 * 7 * 4, name="noise_to_map")(noise))
    x = layers.Concatenate()([bottom, noise_map])
    x = layers.Conv2DTranspose(2 * width, 4, strides=2, padding="same")(x)
    x = layers.ReLU()(ReplicaBatchNormalization()(x))
    x = layers.Conv2DTranspose(width, 4, strides=2, padding="same")(layers.Concatenate()([x, skip_14]))
    x = layers.ReLU()(ReplicaBatchNormalization()(x))
    x = layers.Concatenate()([x, skip_28])
    outputs = layers.Conv2D(1, 3, padding="same", activation="tanh", name="pixels")(x)
    return keras.Model([condition, noise], outputs, name=name)


def patch_discriminator(width: int = 32, dropout: float = 0.3, *, name: str = "patch_discriminator") -> keras.Model:
    """D(c, x): a PatchGAN (Isola et al. 2017) that reads the condition and a whole digit stacked as
    channels and gives one logit per 7×7 patch position, each judging its receptive field."""
    condition = keras.Input((*IMAGE_INPUT[:2], 2), name="condition")
    image = keras.Input(IMAGE_INPUT, name="image")
    x = layers.Concatenate()([condition, image])
    for filters in (width, 2 * width):
        x = layers.Conv2D(filters, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
        x = ReplicaDropout(dropout)(x)
    return keras.Model([condition, image], layers.Conv2D(1, 3, padding="same", name="patch_logits")(x), name=name)
