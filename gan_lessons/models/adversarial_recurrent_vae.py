r"""GAN + R-VAE: a sequence VAE trained against a recurrent discriminator (the VAE-GAN's routing
with recurrent networks).

Each network keeps its own loss, exactly as in :class:`~gan_lessons.models.vae_gan.VAEGAN`:

.. math::
   \mathcal L_{\mathrm{Enc}} = \mathrm{KL}(q(z\mid x)\,\|\,\mathcal N(0, I)) + \mathcal L_{\mathrm{like}}, \qquad
   \mathcal L_{\mathrm{Dec}} = \gamma\,\mathcal L_{\mathrm{like}}
       + \mathrm{BCE}(1, D(\tilde x)) + \mathrm{BCE}(1, D(x_p)), \\
   \mathcal L_{\mathrm{Dis}} = \mathrm{BCE}(1, D(x)) + \mathrm{BCE}(0, D(\tilde x)) + \mathrm{BCE}(0, D(x_p)),

with :math:`\tilde x` the decoder's free-running reconstruction of :math:`x` and :math:`x_p` a
free-running sequence from a prior code. :math:`\mathcal L_{\mathrm{like}}` is the Gaussian negative
log-likelihood of the sequence (the R-VAE's term), the distance in the discriminator's LSTM
features (the VAE-GAN's), or both (``reconstruction``).
"""

from __future__ import annotations

import numpy as np

from gan_lessons.config import keras
from gan_lessons.models.base import checked_inputs
from gan_lessons.models.vae_gan import VAEGAN
from gan_lessons.networks import RecurrentDecoder

ops = keras.ops
RUNNABLE_FEEDBACKS = ("none", "identity")


@keras.saving.register_keras_serializable(package="gan_lessons")
class AdversarialRecurrentVAE(VAEGAN):
    """LSTM encoder → (μ, log σ²); a ``networks.RecurrentDecoder`` that runs free (it writes from z
    alone, ``feedback="none"``, or feeds its own values back, ``"identity"``); an LSTM discriminator
    whose layer ``feature_layer`` gives the features. The reconstruction term defaults to the R-VAE's
    likelihood (lesson 09 measures the three). Every other option is the VAE-GAN's.
    """

    def __init__(self, encoder: keras.Model, decoder: RecurrentDecoder, discriminator: keras.Model, *,
                 feature_layer: str = "features", reconstruction: str = "likelihood", **options):
        if not isinstance(decoder, RecurrentDecoder) or decoder.feedback not in RUNNABLE_FEEDBACKS:
            raise ValueError("the decoder must be a networks.RecurrentDecoder with feedback in "
                             f"{RUNNABLE_FEEDBACKS}: its samples must be differentiable for the adversarial loss")
        judged = tuple(discriminator.inputs[0].shape[1:])
        if judged != (decoder.steps, decoder.features):
            raise ValueError(f"the discriminator reads sequences of shape {judged} but the decoder writes "
                             f"({decoder.steps}, {decoder.features})")
        super().__init__(encoder, decoder, discriminator, feature_layer=feature_layer, reconstruction=reconstruction,
                         **options)

    def start_from(self, recurrent_vae: keras.Model) -> None:
        """Copy a trained R-VAE's encoder and decoder weights (same shapes) into this model's networks:
        a fusion can spend the first part of its budget as the cheaper R-VAE (lesson 09)."""
        for mine, theirs in ((self.encoder, recurrent_vae.encoder), (self.decoder, recurrent_vae.decoder)):
            if [w.shape for w in mine.weights] != [w.shape for w in theirs.weights]:
                raise ValueError(f"start_from needs an R-VAE with this model's encoder and decoder shapes: its "
                                 f"{theirs.name} does not match ({len(theirs.weights)} weights)")
            mine.set_weights(theirs.get_weights())

    def decode_codes(self, z, training: bool = False):
        """Free running, differentiably: from z alone, or feeding each output back as the next input."""
        if self.decoder.feedback == "none":
            silent = ops.zeros((ops.shape(z)[0], self.decoder.steps, self.decoder.features), dtype=z.dtype)
            return self.decoder([z, silent], training=training)
        return self.decoder.generate(z, seed=self.prior_seed_generator)  # identity feedback draws nothing

    def _check(self, data):
        x = checked_inputs(data, "AdversarialRecurrentVAE", None, None)
        expected = (self.decoder.steps, self.decoder.features)
        if tuple(x.shape[1:]) != expected:
            raise ValueError(f"expected sequences of shape (batch, {expected[0]}, {expected[1]}), got {tuple(x.shape)}")
        return x

    def decode(self, codes, batch_size: int = 256, steps: int | None = None) -> np.ndarray:
        """Free-running sequences for the given codes, ``steps`` long (default: the training length)."""
        codes = np.asarray(codes, dtype=np.float32)
        return np.concatenate([ops.convert_to_numpy(self.decoder.generate(codes[i : i + batch_size], steps=steps))
                               for i in range(0, len(codes), batch_size)])

    def sample(self, n: int, seed: int = 0, steps: int | None = None) -> np.ndarray:
        """n free-running sequences from z ~ N(0, I), reproducible per seed."""
        codes = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.decode(codes, steps=steps)
