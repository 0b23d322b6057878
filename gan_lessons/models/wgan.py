r"""A Wasserstein GAN: a critic with a Lipschitz constraint instead of a discriminator.

The critic :math:`C` (an unbounded score, no sigmoid) estimates the earth-mover distance through
the Kantorovich–Rubinstein dual :math:`W_1 = \sup_{\lVert C \rVert_L \le 1} \mathbb E[C(x)] - \mathbb E[C(G(z))]`:

.. math:: \mathcal L_C = \mathbb E[C(G(z))] - \mathbb E[C(x)]
          \;(+\; \lambda\,\mathbb E[(\lVert\nabla C(\hat x)\rVert_2 - 1)^2]), \qquad \mathcal L_G = -\mathbb E[C(G(z))].

The constraint is either **weight clipping** (Arjovsky et al. 2017: every critic weight kept in
[−c, c] after each critic step; they used RMSProp 5e-5 and c = 0.01) or the **gradient penalty**
(Gulrajani et al. 2017: λ = 10 at x̂ = αx + (1 − α)G(z), α ~ U[0, 1] once per image; Adam 1e-4,
β = (0, 0.9)). The critic takes ``n_critic`` steps per generator step, each on a **fresh real
batch**: the dataset delivers batches of ``n_critic · b`` images and the step cuts them into
``n_critic`` slices of ``b`` (one per critic step); the generator step uses ``b`` fakes.
"""

from __future__ import annotations

from gan_lessons.config import keras, tf
from gan_lessons.distribute import replica_draw, scaled_for_replicas
from gan_lessons.losses import critic_loss, gradient_penalty, wasserstein_generator_loss
from gan_lessons.models.base import predict_in_batches
from gan_lessons.models.gan import GAN

ops = keras.ops
CONSTRAINTS = ("penalty", "clipping")


def _all_layers(model: keras.Model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def check_critic(critic: keras.Model) -> None:
    """A clear error for a critic that cannot be a Wasserstein critic: batch normalization makes one
    sample's score depend on the others (the per-sample penalty is then wrong), and a sigmoid bounds
    the score the dual needs unbounded."""
    for layer in _all_layers(critic):
        if isinstance(layer, keras.layers.BatchNormalization):
            raise ValueError(f"a Wasserstein critic must not use batch normalization (layer {layer.name!r}): it "
                             "couples the samples of a batch; use layer normalization or none")
    last = critic.layers[-1]
    if getattr(last, "activation", None) is keras.activations.sigmoid:
        raise ValueError(f"a Wasserstein critic outputs an unbounded score: remove the sigmoid of {last.name!r}")


@keras.saving.register_keras_serializable(package="gan_lessons")
class WGAN(GAN):
    """Generator z → x and critic x → score, trained on the Wasserstein objective.

    Trackers: ``critic_loss`` (with the penalty), ``g_loss``, ``wasserstein`` (the critic's estimate
    E[C(x)] − E[C(G(z))]) and ``penalty`` (the λ-weighted term; 0 with clipping); the critic's three
    are means over its ``n_critic`` steps (each on its own batches) within a training step.
    """

    sub_networks = ("generator", "critic")

    def __init__(self, generator: keras.Model, critic: keras.Model, *, constraint: str = "penalty",
                 penalty_weight: float = 10.0, clip_value: float = 0.01, n_critic: int = 5, ema: float = 0.0,
                 seed: int | None = None, **kwargs):
        if constraint not in CONSTRAINTS:
            raise ValueError(f"constraint must be one of {CONSTRAINTS}, got {constraint!r}")
        if n_critic < 1:
            raise ValueError(f"n_critic must be at least 1, got {n_critic}")
        if penalty_weight < 0 or clip_value <= 0:
            raise ValueError("penalty_weight must be ≥ 0 and clip_value > 0")
        check_critic(critic)
        super().__init__(generator, critic, ema=ema, seed=seed, **kwargs)
        self.constraint = constraint
        self.penalty_weight = float(penalty_weight)
        self.clip_value = float(clip_value)
        self.n_critic = int(n_critic)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("critic_loss", "g_loss", "wasserstein",
                                                                          "penalty")}
        if constraint == "clipping":
            self.clip_weights()

    @property
    def critic(self) -> keras.Model:
        """The discriminator's place in the game, under its Wasserstein name."""
        return self.discriminator

    def compile(self, critic_optimizer: keras.optimizers.Optimizer, g_optimizer: keras.optimizers.Optimizer,
                **kwargs):
        """One optimizer per player (the critic's is kept as ``d_optimizer``, as in ``GAN``)."""
        super().compile(d_optimizer=critic_optimizer, g_optimizer=g_optimizer, **kwargs)  # builds their slots

    def clip_weights(self) -> None:
        """Keep every critic weight in [−c, c] (Arjovsky et al.'s crude Lipschitz constraint)."""
        for weight in self.critic.trainable_variables:
            weight.assign(ops.clip(weight, -self.clip_value, self.clip_value))

    def interpolation_weights(self, batch_size):
        """α ~ U[0, 1], one per image, shaped to broadcast over the image: fresh every call."""
        return replica_draw(keras.random.uniform, (batch_size,) + (1,) * (len(self.critic.inputs[0].shape) - 1),
                            self.seed_generator)

    def critic_batches(self, real):
        """The step's ``n_critic`` fresh real batches, shaped (n_critic, b, …): the ``n_critic · b`` images it
        received, dealt out in turn (critic step i takes images i, i + n_critic, i + 2·n_critic, …), so that
        replicas holding consecutive shares of the batch deal out the same slices as one device."""
        message = (f"WGAN with n_critic={self.n_critic} takes batches of n_critic · b images (one fresh slice of b per "
                   f"critic step): make the dataset's batch size a multiple of {self.n_critic} and drop the smaller "
                   "last batch (data.make_dataset(..., drop_remainder=True))")
        static = real.shape[0]
        if static is not None and static % self.n_critic:
            raise ValueError(f"{message}; got a batch of {static}")
        tf.debugging.assert_equal(ops.shape(real)[0] % self.n_critic, 0, message=message)
        return ops.moveaxis(ops.reshape(real, (-1, self.n_critic, *real.shape[1:])), 1, 0)

    def critic_objective(self, real, fake):
        """(critic loss with its penalty, Wasserstein estimate, weighted penalty) for one batch pair."""
        real_scores = self.critic(real, training=True)
        fake_scores = self.critic(fake, training=True)
        estimate = -critic_loss(real_scores, fake_scores)
        penalty = ops.zeros(())
        if self.constraint == "penalty" and self.penalty_weight:
            alpha = self.interpolation_weights(ops.shape(real)[0])
            penalty = self.penalty_weight * gradient_penalty(self.critic, real, fake, alpha)
        return -estimate + penalty, estimate, penalty

    def train_step(self, data):
        real, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError("WGAN does not support sample weights")
        batches = self.critic_batches(real)
        batch_size = ops.shape(batches)[1]
        c_variables = self.critic.trainable_variables
        g_variables = self.generator.trainable_variables

        sums = [ops.zeros(())] * 3
        for i in range(self.n_critic):  # unrolled when traced: a strategy cannot sum gradients inside a graph loop
            fake = self.generator(self._noise(batch_size), training=True)
            with tf.GradientTape() as tape:
                values = self.critic_objective(batches[i], fake)
            self.d_optimizer.apply(scaled_for_replicas(tape.gradient(values[0], c_variables)), c_variables)
            if self.constraint == "clipping":
                self.clip_weights()
            sums = [total + value for total, value in zip(sums, values)]
        c_loss, estimate, penalty = (total / self.n_critic for total in sums)  # means over the critic's steps

        with tf.GradientTape() as tape:
            fake = self.generator(self._noise(batch_size), training=True)
            g_loss = wasserstein_generator_loss(self.critic(fake, training=True))
        self.g_optimizer.apply(scaled_for_replicas(tape.gradient(g_loss, g_variables)), g_variables)
        self.update_average()

        self._track(c_loss, g_loss, estimate, penalty)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        fake = self.generator(self._noise(ops.shape(real)[0]), training=False)
        c_loss, estimate, penalty = self.critic_objective(real, fake)
        self._track(c_loss, wasserstein_generator_loss(self.critic(fake)), estimate, penalty)
        return {m.name: m.result() for m in self.metrics}

    def _track(self, c_loss, g_loss, estimate, penalty):
        for name, value in (("critic_loss", c_loss), ("g_loss", g_loss), ("wasserstein", estimate),
                            ("penalty", penalty)):
            self.trackers[name].update_state(value)

    def wasserstein_estimate(self, real, fake, batch_size: int = 256) -> float:
        """The critic's estimate E[C(real)] − E[C(fake)] on given samples (e.g. held-out digits and the
        generator's samples), computed in inference mode."""
        return float(predict_in_batches(self.critic, real, batch_size).mean()
                     - predict_in_batches(self.critic, fake, batch_size).mean())

    def get_config(self) -> dict:
        config = super().get_config()
        for name in ("real_label", "d_steps", "saturating", "packing"):
            config.pop(name)
        return {**config, "constraint": self.constraint, "penalty_weight": self.penalty_weight,
                "clip_value": self.clip_value, "n_critic": self.n_critic}

    def get_compile_config(self) -> dict:
        return {"critic_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
                "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer)}

    def compile_from_config(self, config: dict) -> None:
        self.compile(critic_optimizer=keras.saving.deserialize_keras_object(config["critic_optimizer"]),
                     g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]))
