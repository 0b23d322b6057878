r"""A GAN whose players are LSTMs (RCGAN, Esteban et al. 2017), for sequences.

The game and its losses are the :class:`~gan_lessons.models.gan.GAN`'s, unchanged:

.. math:: \mathcal L_D = \mathrm{BCE}(1, D(x)) + \mathrm{BCE}(0, D(G(z_{1:T}))), \qquad
          \mathcal L_G = \mathrm{BCE}(1, D(G(z_{1:T}))),

only the noise is a sequence: G reads a fresh noise vector :math:`z_t` at every step, so the
randomness of a sample is spread over time instead of being decided once at the start. D either
judges the whole sequence from its last hidden state or gives one decision per step (RCGAN's
choice, BCE averaged over steps); this class adds the checks that a sequence model needs.
"""

from __future__ import annotations

import numpy as np

from gan_lessons import networks
from gan_lessons.config import keras
from gan_lessons.models.base import checked_inputs, predict_in_batches
from gan_lessons.models.gan import GAN


@keras.saving.register_keras_serializable(package="gan_lessons")
class LSTMGAN(GAN):
    """:class:`GAN` for sequences: per-step noise (steps, noise_dim) → (steps, features) → logits.

    Every GAN option (``real_label``, ``packing``, ``ema``, ``seed``…) works as for images. Real
    batches are checked for their shape, and for the range [−1, 1] when G ends in ``tanh``.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, **gan_options):
        super().__init__(generator, discriminator, **gan_options)
        if len(self.noise_shape) != 2:
            raise ValueError(
                f"an LSTM-GAN's generator takes per-step noise (steps, noise_dim), got {self.noise_shape}"
                " (see networks.lstm_generator)"
            )
        self.steps, self.features = (int(d) for d in generator.outputs[0].shape[1:])
        judged = tuple(discriminator.inputs[0].shape[1:])
        if judged != (self.steps, self.features * self.packing):
            raise ValueError(
                f"the discriminator reads sequences of shape {judged} but the generator writes "
                f"({self.steps}, {self.features}) (× packing {self.packing} features)"
            )
        # A tanh generator cannot reach values outside [−1, 1]; real data there is a scaling bug.
        ends_in_tanh = generator.layers[-1].get_config().get("activation") == "tanh"
        self.value_range = (-1.0, 1.0) if ends_in_tanh else (None, None)

    @classmethod
    def from_sizes(
        cls,
        steps: int = 30,
        features: int = 1,
        *,
        noise_dim: int = 5,
        units: int = 100,
        per_step: bool = False,
        **gan_options,
    ) -> LSTMGAN:
        """The lesson's players: ``networks.lstm_generator`` against ``networks.lstm_discriminator``."""
        packing = gan_options.get("packing", 1)
        return cls(
            networks.lstm_generator(noise_dim, steps, units, features),
            networks.lstm_discriminator(steps, features * packing, units, per_step=per_step),
            **gan_options,
        )

    def _checked(self, data):
        x = checked_inputs(data, "LSTMGAN", *self.value_range)
        if tuple(x.shape[1:]) != (self.steps, self.features):
            raise ValueError(
                f"LSTMGAN expects sequences of shape (batch, {self.steps}, {self.features}), got {tuple(x.shape)}"
            )
        return x

    def generate(self, n: int, seed: int = 0, batch_size: int = 256, steps: int | None = None) -> np.ndarray:
        """n sequences from fixed noise (reproducible per seed), ``steps`` long (default: the training
        length; longer ones come from the same weights, the LSTM simply reading more noise)."""
        steps = self.steps if steps is None else int(steps)
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        noise = np.random.default_rng(seed).standard_normal((n, steps, self.noise_shape[1])).astype(np.float32)
        generator = self.ema_generator or self.generator
        if steps != self.steps:  # the same layers and weights behind an input of the new length
            longer = keras.models.clone_model(generator, input_tensors=keras.Input((steps, self.noise_shape[1])))
            longer.set_weights(generator.get_weights())
            generator = longer
        return predict_in_batches(generator, noise, batch_size)

    def train_step(self, data):
        return super().train_step(self._checked(data))

    def test_step(self, data):
        return super().test_step(self._checked(data))
