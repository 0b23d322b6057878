"""Each lesson's main model with that lesson's settings, built in one call, so the benchmark and
the comparison lesson train exactly what the lessons train (networks, optimizers, batch size, data
range).

Digit recipes take digits as loaded (integers 0–255, e.g. ``digits.x_train``) and prepare them
as their lesson does (scaled to [0, 1] or [−1, 1], binarized afresh every epoch, read row by
row); sequence recipes take sequences (N, steps, features), such as sine waves (N, 30, 1). Extra
keyword arguments go to ``compile`` (e.g. ``steps_per_execution``, which the benchmark compares;
the small dense and recurrent models use 10, as their lessons do: measured faster, with the same
weights; 1 under a strategy with several replicas, where Keras cannot run more).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gan_lessons import config, data, distribute, networks
from gan_lessons.callbacks import StopOnNonFinite, TimeBudget
from gan_lessons.config import keras, tf
from gan_lessons.models import (
    GAN,
    LSTMGAN,
    VAE,
    VAEGAN,
    WGAN,
    AdversarialRecurrentVAE,
    Autoencoder,
    Completion,
    ConditionalGAN,
    RecurrentVAE,
)
from gan_lessons.models.completion import top_half_condition


@dataclass
class Recipe:
    """A compiled model, its training pipeline, the array that pipeline reads (``x``, in the model's
    range) and that range (``value_range`` of images, for ``data.unscale_pixels``)."""

    name: str
    lesson: str
    model: keras.Model
    train: tf.data.Dataset
    x: np.ndarray
    value_range: str = "unit"

    @property
    def examples(self) -> int:
        """Training examples per epoch."""
        return len(self.x)

    @property
    def parameters(self) -> int:
        """Trainable parameters of all the model's networks (weight averages are copies, not counted)."""
        return int(sum(np.prod(w.shape) for w in self.model.trainable_weights))


def _digits(x: np.ndarray, value_range: str = "unit") -> np.ndarray:
    """Digits as loaded (integers 0–255) → (N, 28, 28, 1) float32 in the model's range."""
    return data.scale_pixels(x, value_range)


def autoencoder(x: np.ndarray, *, seed: int = 0, **compile_options) -> Recipe:
    """Lesson 01's convolutional autoencoder: 16-number code, MSE, Adam 1e-3, batch 64."""
    x = _digits(x)
    config.seed_everything(seed)
    model = Autoencoder(networks.conv_encoder(16), networks.conv_decoder(16), name="conv_autoencoder")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), **compile_options)
    return Recipe("autoencoder", "01", model, data.make_dataset(x, batch_size=64, seed=seed), x)


def vae(x: np.ndarray, *, seed: int = 0, **compile_options) -> Recipe:
    """Lesson 02's VAE: 32-dimensional code, dense networks, Bernoulli likelihood on digits binarized
    afresh every epoch, Adam 1e-3, batch 100, ten steps per execution."""
    x = _digits(x)
    config.seed_everything(seed)
    model = VAE(networks.gaussian_encoder(32), networks.dense_decoder(32, output_activation=None), seed=seed,
                name="vae")
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  **{"steps_per_execution": distribute.steps_per_execution(10), **compile_options})
    train = data.make_dataset(x, batch_size=100, seed=seed, dynamic_binarization=True)
    return Recipe("VAE", "02", model, train, x)


def _adam_for_gans() -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(4e-4, beta_1=0.5)


def conditional_gan_optimizer() -> keras.optimizers.Optimizer:
    """Lesson 05's Adam for both players (8e-4, β₁ 0.5); its section 3 trains its comparisons with it too."""
    return keras.optimizers.Adam(8e-4, beta_1=0.5)


def dcgan(x: np.ndarray, *, seed: int = 0, **compile_options) -> Recipe:
    """Lesson 03's DCGAN: 100-dimensional noise, an extra generator convolution, a width-32
    discriminator, one-sided label smoothing 0.9, EMA 0.999, Adam 4e-4 β₁ 0.5, batch 32, [−1, 1]."""
    x = _digits(x, "signed")
    config.seed_everything(seed)
    model = GAN(networks.dcgan_generator(100, extra_convolutions=1), networks.dcgan_discriminator(width=32),
                real_label=0.9, ema=0.999, seed=seed)
    model.compile(d_optimizer=_adam_for_gans(), g_optimizer=_adam_for_gans(), **compile_options)
    return Recipe("GAN (DCGAN)", "03", model, data.make_dataset(x, batch_size=32, seed=seed), x, "signed")


def wgan_gp(x: np.ndarray, *, seed: int = 0, n_critic: int = 2, learning_rate: float = 3e-4,
            **compile_options) -> Recipe:
    """Lesson 04's WGAN-GP: lesson 03's generator (with its weight average), a width-32 critic
    without dropout, gradient penalty λ = 10, ``n_critic`` critic steps per generator step on fresh
    real batches of 32 (so the dataset's batches hold n_critic · 32), Adam β = (0.5, 0.9), [−1, 1]."""
    x = _digits(x, "signed")
    batch_size = n_critic * 32
    if len(x) < batch_size:
        raise ValueError(f"wgan_gp with n_critic={n_critic} needs at least {batch_size} digits, got {len(x)}")
    config.seed_everything(seed)
    model = WGAN(networks.dcgan_generator(100, extra_convolutions=1),
                 networks.dcgan_discriminator(width=32, dropout=0.0, name="critic"), n_critic=n_critic, ema=0.999,
                 seed=seed)
    model.compile(critic_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5, beta_2=0.9),
                  g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5, beta_2=0.9), **compile_options)
    train = data.make_dataset(x, batch_size=batch_size, seed=seed, drop_remainder=True)
    return Recipe("WGAN-GP", "04", model, train, x, "signed")


def conditional_gan(x: np.ndarray, *, labels: np.ndarray, seed: int = 0, **compile_options) -> Recipe:
    """Lesson 05's class-conditional GAN: lesson 03's generator at half its width (64) fed 64 noise
    values and a 32-number label embedding, a width-32 projection discriminator with dropout, one-sided
    label smoothing 0.9, EMA 0.999, Adam 8e-4 β₁ 0.5, batch 32, [−1, 1]; trains on (digit, label)
    batches. Half the width makes each step cheaper; with twice the step size, 16 epochs reach the
    lesson's targets (its render shows the run)."""
    x = _digits(x, "signed")
    labels = np.asarray(labels)
    if labels.shape != (len(x),) or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"conditional_gan needs one digit class 0–9 per image: got labels of shape {labels.shape} "
                         f"for {len(x)} images")
    config.seed_everything(seed)
    model = ConditionalGAN(networks.conditional_dcgan_generator(64, embedding_dim=32, width=64),
                           networks.projection_discriminator(width=32), real_label=0.9, ema=0.999, seed=seed)
    model.compile(d_optimizer=conditional_gan_optimizer(), g_optimizer=conditional_gan_optimizer(), **compile_options)
    return Recipe("conditional GAN", "05", model, data.make_dataset(x, labels, batch_size=32, seed=seed), x, "signed")


def digit_completion(x: np.ndarray, *, seed: int = 0, l1_weight: float = 100.0, adversarial: bool = True,
                     **compile_options) -> Recipe:
    """Lesson 05's pix2pix-style completer of digits from their top halves: a width-16 U-Net with 16
    noise values at its bottleneck, a width-32 PatchGAN, λ·L1 (+ the GAN term unless
    ``adversarial=False``), EMA 0.999, Adam 2e-3 β₁ 0.5, batch 32, [−1, 1]."""
    x = _digits(x, "signed")
    config.seed_everything(seed)
    model = Completion(networks.unet_completer(width=16), networks.patch_discriminator(width=32),
                       l1_weight=l1_weight, adversarial=adversarial, ema=0.999, seed=seed)
    model.compile(d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5), **compile_options)
    train = data.make_dataset(top_half_condition(x), x, batch_size=32, seed=seed)
    return Recipe("digit completion", "05", model, train, x, "signed")


def vae_gan(x: np.ndarray, *, seed: int = 0, **compile_options) -> Recipe:
    """Lesson 06's VAE-GAN: 32-dimensional code, DCGAN decoder and width-32 discriminator, feature
    reconstruction on ``features_2`` with γ = 5, three Adam 4e-4 β₁ 0.5, batch 64, [−1, 1]."""
    x = _digits(x, "signed")
    config.seed_everything(seed)
    model = VAEGAN(networks.conv_gaussian_encoder(32), networks.dcgan_generator(32),
                   networks.dcgan_discriminator(width=32), feature_layer="features_2", gamma=5.0, real_label=0.9,
                   seed=seed)
    model.compile(encoder_optimizer=_adam_for_gans(), decoder_optimizer=_adam_for_gans(),
                  discriminator_optimizer=_adam_for_gans(), **compile_options)
    return Recipe("VAE-GAN", "06", model, data.make_dataset(x, batch_size=64, seed=seed), x, "signed")


def recurrent_vae(x: np.ndarray, *, seed: int = 0, **compile_options) -> Recipe:
    """Lesson 07's row-by-row R-VAE: LSTM encoder 128, decoder LSTM 256 with z in its initial state,
    16-dimensional code, free bits 0.5 nats per dimension, Adam 2e-3, batch 64, rows binarized
    afresh every epoch."""
    rows = data.digit_rows(x)
    config.seed_everything(seed)
    model = RecurrentVAE(networks.lstm_gaussian_encoder(16, steps=28, features=28, units=128),
                         networks.RecurrentDecoder(16, steps=28, features=28, units=256, condition="state"),
                         seed=seed, free_bits=0.5)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), **compile_options)
    train = data.make_dataset(rows, batch_size=64, seed=seed, dynamic_binarization=True)
    return Recipe("R-VAE (digit rows)", "07", model, train, rows)


def sine_recurrent_vae(x: np.ndarray, *, seed: int = 0, **compile_options) -> Recipe:
    """Lesson 07's sine R-VAE: LSTM encoder 64, a 64-unit decoder without feedback (z at every
    step), 4-dimensional code, Gaussian likelihood, Adam 2e-3, batch 64."""
    x = _sequences(x)
    config.seed_everything(seed)
    steps, features = x.shape[1:]
    model = RecurrentVAE(networks.lstm_gaussian_encoder(4, steps=steps, features=features, units=64),
                         networks.RecurrentDecoder(4, steps=steps, features=features, units=64, condition="both",
                                                   feedback="none"),
                         likelihood="gaussian", seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), **compile_options)
    return Recipe("R-VAE (sines)", "07", model, data.make_dataset(x, batch_size=64, seed=seed), x)


def lstm_gan(x: np.ndarray, *, seed: int = 0, **compile_options) -> Recipe:
    """Lesson 08's LSTM-GAN: 100-unit LSTM players, 5 noise values per step, a whole-sequence
    discriminator reading pairs (packing 2), EMA 0.995, Adam 5e-4 β₁ 0.5, batch 64, ten steps per
    execution."""
    x = _sequences(x)
    config.seed_everything(seed)
    model = LSTMGAN.from_sizes(x.shape[1], x.shape[2], noise_dim=5, units=100, packing=2, ema=0.995, seed=seed)
    model.compile(d_optimizer=keras.optimizers.Adam(5e-4, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(5e-4, beta_1=0.5),
                  **{"steps_per_execution": distribute.steps_per_execution(10), **compile_options})
    return Recipe("LSTM-GAN (sines)", "08", model, data.make_dataset(x, batch_size=64, seed=seed), x)


def adversarial_recurrent_vae(x: np.ndarray, *, seed: int = 0, gamma: float = 0.1, reconstruction: str = "likelihood",
                              start_from: RecurrentVAE | None = None, **compile_options) -> Recipe:
    """Lesson 09's GAN + R-VAE: lesson 07's sine R-VAE (LSTM encoder 64, a 64-unit decoder writing from
    z alone, 4-dimensional code) against a 64-unit whole-sequence LSTM discriminator; reconstruction
    term ``reconstruction`` weighted γ in the decoder's loss, real target 0.9; Adam 2e-3 for all three
    (β₁ 0.5 for the discriminator), batch 64. ``start_from``: a trained R-VAE of the same shape whose
    encoder and decoder weights it starts from (``start_as_recurrent_vae`` trains one)."""
    x = _sequences(x)
    config.seed_everything(seed)
    steps, features = x.shape[1:]
    model = AdversarialRecurrentVAE(
        networks.lstm_gaussian_encoder(4, steps=steps, features=features, units=64),
        networks.RecurrentDecoder(4, steps=steps, features=features, units=64, condition="both", feedback="none"),
        networks.lstm_discriminator(steps, features, units=64),
        reconstruction=reconstruction, gamma=gamma, real_label=0.9, seed=seed)
    if start_from is not None:
        model.start_from(start_from)
    model.compile(encoder_optimizer=keras.optimizers.Adam(2e-3), decoder_optimizer=keras.optimizers.Adam(2e-3),
                  discriminator_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5), **compile_options)
    return Recipe("adversarial R-VAE (sines)", "09", model, data.make_dataset(x, batch_size=64, seed=seed), x)


def start_as_recurrent_vae(recipe: Recipe, seconds: float, *, seed: int = 0, label: str | None = None,
                           **compile_options) -> int:
    """Lesson 09's start for an adversarial R-VAE: train lesson 07's sine R-VAE on the recipe's data for
    ``seconds`` (to the end of that epoch), copy its encoder and decoder into the recipe's model and
    return its epochs. A step of the fusion costs several of the R-VAE's (lesson 09 measures how
    many), so the fusion spends the first part of its budget as the cheaper R-VAE."""
    if not isinstance(recipe.model, AdversarialRecurrentVAE):
        raise TypeError(f"start_as_recurrent_vae starts an adversarial R-VAE recipe, not a "
                        f"{type(recipe.model).__name__}")
    start = sine_recurrent_vae(recipe.x, seed=seed, **compile_options)
    budget = TimeBudget(seconds, label=label)
    start.model.fit(start.train, epochs=1_000_000, callbacks=[budget, StopOnNonFinite()], verbose=0)
    recipe.model.start_from(start.model)
    return budget.epochs_run


def _sequences(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3:
        raise ValueError(f"sequence recipes take sequences of shape (N, steps, features), e.g. sine waves "
                         f"(N, 30, 1), got {x.shape}")
    return x


DIGIT_RECIPES: dict[str, Callable[..., Recipe]] = {
    "autoencoder": autoencoder, "vae": vae, "gan": dcgan, "wgan_gp": wgan_gp, "vae_gan": vae_gan,
    "recurrent_vae": recurrent_vae}
SEQUENCE_RECIPES: dict[str, Callable[..., Recipe]] = {"recurrent_vae": sine_recurrent_vae, "lstm_gan": lstm_gan,
                                                     "adversarial_recurrent_vae": adversarial_recurrent_vae}


def generated_digits(recipe: Recipe, n: int, *, seed: int = 0) -> np.ndarray:
    """n digits in [0, 1], shaped (n, 28, 28, 1), drawn the way the recipe's model generates: from
    its prior (VAE, VAE-GAN, R-VAE, free running) or noise (GAN). The autoencoder has no prior; its
    stand-in is a Gaussian fitted to the codes of its training digits (mean and covariance)."""
    model = recipe.model
    if isinstance(model, Autoencoder):
        codes = model.encode(recipe.x).astype(np.float64)
        draws = np.random.default_rng(seed).multivariate_normal(codes.mean(0), np.cov(codes, rowvar=False), n)
        images = model.decode(draws.astype(np.float32))
    elif isinstance(model, GAN):
        images = model.generate(n, seed=seed)
    elif isinstance(model, (VAE, VAEGAN, RecurrentVAE)):
        images = model.sample(n, seed=seed)
    else:
        raise TypeError(f"no way to draw digits from a {type(model).__name__}")
    images = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28, 1)
    return data.unscale_pixels(images, recipe.value_range)


def reconstructed_digits(recipe: Recipe, x: np.ndarray) -> np.ndarray:
    """Reconstructions in [0, 1] of digits as loaded (integers 0–255), by a recipe whose model has
    an encoder (autoencoder, VAE, VAE-GAN): for comparing reconstruction errors across models."""
    if not hasattr(recipe.model, "reconstruct") or isinstance(recipe.model, RecurrentVAE):
        raise TypeError(f"{recipe.name} does not reconstruct images")
    images = recipe.model.reconstruct(data.scale_pixels(x, recipe.value_range))
    return data.unscale_pixels(np.asarray(images, dtype=np.float32), recipe.value_range)


def generated_sequences(recipe: Recipe, n: int, *, seed: int = 0) -> np.ndarray:
    """n sequences from a sequence recipe's model: free-running prior samples of the R-VAE, the
    (weight-averaged) generator's output for the LSTM-GAN."""
    if isinstance(recipe.model, GAN):
        return recipe.model.generate(n, seed=seed)
    if isinstance(recipe.model, (RecurrentVAE, AdversarialRecurrentVAE)):
        return recipe.model.sample(n, seed=seed)
    raise TypeError(f"no way to draw sequences from a {type(recipe.model).__name__}")
