r"""A GAN (Goodfellow et al. 2014) that plays any generator against any discriminator.

Discriminator :math:`D` (logits) and generator :math:`G` take turns, each with its own optimizer:

.. math:: \mathcal L_D = \mathrm{BCE}(1, D(x)) + \mathrm{BCE}(0, D(G(z))), \qquad
          \mathcal L_G = \mathrm{BCE}(1, D(G(z))) \quad \text{(non-saturating)}.

Real and fake batches go through D separately (batch statistics never mix). Options: one-sided
label smoothing (real target 0.9), several D steps per G step, the original saturating G loss
(for the lesson on why it fails), and PacGAN packing (Lin et al. 2018): D judges ``packing``
samples at once, concatenated along the last axis, which makes a collapsed generator easy to spot;
and an exponential moving average (EMA) of the generator's weights for sampling (Yazıcı et al. 2019):
the average of the last few hundred generators is smoother than any single one of them. The average
warms up as TensorFlow's ``ExponentialMovingAverage`` does with ``num_updates``: after generator step
t its decay is min(ema, (1 + t)/(10 + t)), so early averages forget the random initialization at once
instead of holding e.g. 0.999^500 ≈ 61 % of it after 500 steps.
"""

from __future__ import annotations

import numpy as np

from gan_lessons.config import keras, tf
from gan_lessons.distribute import DistributedFit, replica_draw, scaled_for_replicas
from gan_lessons.losses import discriminator_loss, generator_loss
from gan_lessons.models.base import SubNetworkConfig, predict_in_batches

ops = keras.ops


def pack(x, packing: int):
    """Group ``packing`` consecutive samples into one: (B, ..., C) → (B/packing, ..., packing·C)."""
    if packing == 1:
        return x
    shape = ops.shape(x)
    grouped = ops.reshape(x, (-1, packing, *shape[1:]))
    moved = ops.moveaxis(grouped, 1, -2)  # (B/p, ..., p, C)
    return ops.reshape(moved, (-1, *shape[1:-1], packing * shape[-1]))


@keras.saving.register_keras_serializable(package="gan_lessons")
class GAN(DistributedFit, SubNetworkConfig, keras.Model):
    """Generator z → x and discriminator x → logit, trained as a two-player game.

    Trackers: ``d_loss``, ``g_loss``, ``d_real_accuracy`` (share of real samples D calls real)
    and ``d_fake_accuracy`` (share of fakes D calls fake).
    """

    sub_networks = ("generator", "discriminator")

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *, real_label: float = 1.0,
                 d_steps: int = 1, saturating: bool = False, packing: int = 1, ema: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.5 < real_label <= 1.0:
            raise ValueError(f"real_label must be in (0.5, 1], got {real_label} (0.9 = one-sided smoothing)")
        if d_steps < 1 or packing < 1:
            raise ValueError("d_steps and packing must be at least 1")
        if not 0.0 <= ema < 1.0:
            raise ValueError(f"ema must be in [0, 1) (0 = off, e.g. 0.999), got {ema}")
        self.generator = generator
        self.discriminator = discriminator
        # (latent_dim,) for one noise vector per sample; (steps, noise_dim) for per-step noise.
        self.noise_shape = tuple(int(d) for d in generator.inputs[0].shape[1:])
        self.latent_dim = self.noise_shape[-1]
        self.real_label = float(real_label)
        self.d_steps = int(d_steps)
        self.saturating = bool(saturating)
        self.packing = int(packing)
        self.ema = float(ema)
        # The averaged generator is only ever assigned to, never trained.
        self.ema_generator = keras.models.clone_model(generator) if ema else None
        if self.ema_generator is not None:
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy")}
        self.built = True

    @property
    def metrics(self) -> list:
        return list(self.trackers.values())

    def compile(self, d_optimizer: keras.optimizers.Optimizer, g_optimizer: keras.optimizers.Optimizer, **kwargs):
        """One optimizer per player; each only ever sees its own network's variables. Their slots are
        made here, so that the first ``fit`` traces ``train_step`` once rather than twice (a traced
        function that creates variables is traced again)."""
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.build_optimizers()

    def call(self, z, training: bool = False):
        return self.generator(z, training=training)

    def discriminate(self, x, training: bool = False):
        """D's logits for a batch (packed first when ``packing > 1``)."""
        if self.packing > 1:
            message = (f"with packing={self.packing} every batch size must be a multiple of {self.packing}: choose "
                       "such a batch size, and drop the smaller last batch (data.make_dataset(..., "
                       "drop_remainder=True)) unless the data size is a multiple too")
            static = x.shape[0]
            if static is not None and static % self.packing:
                raise ValueError(f"{message}; got a batch of {static}")
            tf.debugging.assert_equal(ops.shape(x)[0] % self.packing, 0, message=message)
        return self.discriminator(pack(x, self.packing), training=training)

    def _noise(self, batch_size):
        return replica_draw(keras.random.normal, (batch_size, *self.noise_shape), self.seed_generator)

    def real_batch(self, data):
        """The real samples of a batch and their condition (none for this GAN: labels are ignored)."""
        real, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError(f"{type(self).__name__} does not support sample weights")
        return real, None

    def fakes(self, batch_size, condition, training: bool = False):
        """A batch of generated samples (for the given condition, in conditional subclasses)."""
        return self.generator(self._noise(batch_size), training=training)

    def judge(self, x, condition, training: bool = False):
        """D's logits for samples (and their condition, in conditional subclasses)."""
        return self.discriminate(x, training=training)

    def generator_objective(self, fake, real, condition, fake_logits):
        """G's loss for one step: the adversarial term (subclasses may add terms that compare ``fake``
        with ``real``, e.g. an image-to-image model's L1)."""
        return generator_loss(fake_logits, self.saturating)

    def train_step(self, data):
        real, condition = self.real_batch(data)
        batch_size = ops.shape(real)[0]
        d_variables = self.discriminator.trainable_variables
        g_variables = self.generator.trainable_variables

        for _ in range(self.d_steps):  # unrolled when traced
            fake = self.fakes(batch_size, condition, training=True)
            with tf.GradientTape() as tape:
                real_logits = self.judge(real, condition, training=True)
                fake_logits = self.judge(fake, condition, training=True)
                d_loss = discriminator_loss(real_logits, fake_logits, self.real_label)
            self.d_optimizer.apply(scaled_for_replicas(tape.gradient(d_loss, d_variables)), d_variables)

        with tf.GradientTape() as tape:
            fake = self.fakes(batch_size, condition, training=True)
            g_loss = self.generator_objective(fake, real, condition, self.judge(fake, condition, training=True))
        self.g_optimizer.apply(scaled_for_replicas(tape.gradient(g_loss, g_variables)), g_variables)
        self.update_average()

        self._update(d_loss, g_loss, real_logits, fake_logits)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        real, condition = self.real_batch(data)
        fake = self.fakes(ops.shape(real)[0], condition)
        real_logits, fake_logits = self.judge(real, condition), self.judge(fake, condition)
        self._update(discriminator_loss(real_logits, fake_logits, self.real_label),
                     self.generator_objective(fake, real, condition, fake_logits), real_logits, fake_logits)
        return {m.name: m.result() for m in self.metrics}

    def update_average(self) -> None:
        """Move the weight-averaged generator towards the current one (after a generator step; no-op
        when ``ema`` is off)."""
        if self.ema_generator is None:
            return
        decay = self.ema_decay(self.g_optimizer.iterations)
        for average, current in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(decay * average + (1.0 - decay) * ops.cast(current, average.dtype))

    def ema_decay(self, steps):
        """The weight average's decay after ``steps`` generator updates: min(ema, (1 + t)/(10 + t))."""
        t = ops.cast(steps, "float32")
        return ops.minimum(self.ema, (1.0 + t) / (10.0 + t))

    def _update(self, d_loss, g_loss, real_logits, fake_logits):
        self.trackers["d_loss"].update_state(d_loss)
        self.trackers["g_loss"].update_state(g_loss)
        self.trackers["d_real_accuracy"].update_state(ops.mean(ops.cast(real_logits > 0, "float32")))
        self.trackers["d_fake_accuracy"].update_state(ops.mean(ops.cast(fake_logits < 0, "float32")))

    def generate(self, n: int, seed: int = 0, batch_size: int = 256) -> np.ndarray:
        """n samples from fixed noise (reproducible per seed), as NumPy."""
        noise = np.random.default_rng(seed).standard_normal((n, *self.noise_shape)).astype(np.float32)
        return self.decode(noise, batch_size)

    def decode(self, noise, batch_size: int = 256) -> np.ndarray:
        """The generator's output for given noise vectors (the name SampleGrid looks for); the
        weight-averaged generator when ``ema`` is on."""
        return predict_in_batches(self.ema_generator or self.generator, noise, batch_size)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            **self.sub_network_config(),
            "real_label": self.real_label,
            "d_steps": self.d_steps,
            "saturating": self.saturating,
            "packing": self.packing,
            "ema": self.ema,
            "seed": self.seed,
        }

    def get_compile_config(self) -> dict:
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
        }

    def compile_from_config(self, config: dict) -> None:
        self.compile(
            d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
            g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
        )

    def build_optimizers(self) -> None:
        """Create each optimizer's slots for its own player's variables (before training or loading a state)."""
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
