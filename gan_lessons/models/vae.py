r"""The variational autoencoder (Kingma & Welling 2014) with a Bernoulli decoder on logits.

Per example, the loss is the negative evidence lower bound, in nats:

.. math:: -\mathrm{ELBO}(x) = \underbrace{-\mathbb E_{q(z\mid x)} \log p(x \mid z)}_{\text{reconstruction}}
   + \beta\,\underbrace{\mathrm{KL}(q(z \mid x) \,\|\, \mathcal N(0, I))}_{\text{closed form}},

the reconstruction summed over the 784 pixels (not averaged: it is added to a KL summed over the
latent dimensions) and estimated with one reparameterized sample. β = 1 gives the bound itself; β > 1
a looser upper bound on −log p(x); β < 1 no bound at all (``neg_elbo`` is always the β = 1 value).
"""

from __future__ import annotations

import numpy as np

from gan_lessons.config import keras, tf
from gan_lessons.distribute import DistributedFit, scaled_for_replicas
from gan_lessons.layers import Sampling
from gan_lessons.losses import bernoulli_log_likelihood, gaussian_log_density, kl_to_standard_normal
from gan_lessons.models.base import (
    SubNetworkConfig,
    checked_inputs,
    encode_in_batches,
    matching_code_size,
    predict_in_batches,
)

ops = keras.ops


@keras.saving.register_keras_serializable(package="gan_lessons")
class VAE(DistributedFit, SubNetworkConfig, keras.Model):
    """Encoder → (μ, log σ²) → Sampling → decoder logits; trained on −ELBO with KL weight β.

    Trackers: ``reconstruction`` (−log p(x|z)), ``kl``, ``loss`` (reconstruction + β·KL, what is
    minimised) and ``neg_elbo`` (reconstruction + KL, the bound itself), all nats per example.
    """

    sub_networks = ("encoder", "decoder")

    def __init__(self, encoder: keras.Model, decoder: keras.Model, *, beta: float = 1.0,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if len(encoder.outputs) != 2:
            raise ValueError("the encoder must output [z_mean, z_log_var] (see networks.gaussian_encoder)")
        latent = matching_code_size(encoder, decoder)
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = latent
        self.beta = float(beta)
        self.seed = seed
        self.sampling = Sampling(seed, name="sampling")
        self.importance_seed_generator = keras.random.SeedGenerator(None if seed is None else seed + 1)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "reconstruction", "kl", "neg_elbo")}
        self.built = True

    @property
    def metrics(self) -> list:
        return list(self.trackers.values())

    def call(self, x, training: bool = False):
        z_mean, z_log_var = self.encoder(x, training=training)
        return self.decoder(self.sampling(z_mean, z_log_var), training=training)

    def _check(self, data):
        return checked_inputs(data, "VAE", 0.0, 1.0)

    def compute_terms(self, x, training: bool = False):
        """Per-example (reconstruction, KL) in nats, from one reparameterized sample."""
        z_mean, z_log_var = self.encoder(x, training=training)
        logits = self.decoder(self.sampling(z_mean, z_log_var), training=training)
        return -bernoulli_log_likelihood(x, logits), kl_to_standard_normal(z_mean, z_log_var)

    def _update(self, reconstruction, kl):
        reconstruction, kl = ops.mean(reconstruction), ops.mean(kl)
        loss = reconstruction + self.beta * kl
        for name, value in (("loss", loss), ("reconstruction", reconstruction), ("kl", kl),
                            ("neg_elbo", reconstruction + kl)):
            self.trackers[name].update_state(value)
        return loss

    def train_step(self, data):
        x = self._check(data)
        with tf.GradientTape() as tape:
            reconstruction, kl = self.compute_terms(x, training=True)
            loss = ops.mean(reconstruction) + self.beta * ops.mean(kl) + sum(self.losses)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(scaled_for_replicas(gradients), self.trainable_variables)
        self._update(reconstruction, kl)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        self._update(*self.compute_terms(self._check(data)))
        return {m.name: m.result() for m in self.metrics}

    def encode(self, images, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """(μ, log σ²) of q(z | x) for each image."""
        return encode_in_batches(self.encoder, images, batch_size)

    def decode(self, codes, batch_size: int = 256) -> np.ndarray:
        """Pixel probabilities σ(logits) for each code: the mean of p(x | z)."""
        logits = predict_in_batches(self.decoder, codes, batch_size)
        return 0.5 * (1.0 + np.tanh(0.5 * logits))  # = 1 / (1 + e^-x), without overflow for large |x|

    def reconstruct(self, images) -> np.ndarray:
        """Decode the posterior mean of each image."""
        return self.decode(self.encode(images)[0])

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n images decoded from the prior N(0, I) (pixel probabilities), reproducible per seed."""
        codes = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.decode(codes)

    def log_importance_weights(self, x, k: int, max_rows: int = 50_000) -> np.ndarray:
        """log p(x|z) + log p(z) − log q(z|x) for k samples z ~ q(z|x) per image: shape (k, batch), float64.

        The full densities enter (constants included), as an importance-weighted bound needs.
        """
        x = np.asarray(x, dtype=np.float32)
        z_mean, z_log_var = self.encoder(x, training=False)
        weights = []
        chunk = max(1, max_rows // len(x))
        for start in range(0, k, chunk):
            n = min(chunk, k - start)
            mean, log_var = ops.repeat(z_mean[None], n, axis=0), ops.repeat(z_log_var[None], n, axis=0)
            epsilon = keras.random.normal(ops.shape(mean), seed=self.importance_seed_generator)
            z = mean + ops.exp(0.5 * log_var) * epsilon
            flat_z = ops.reshape(z, (-1, self.latent_dim))
            logits = self.decoder(flat_z, training=False)
            log_px_z = bernoulli_log_likelihood(ops.tile(x, (n, 1, 1, 1)), logits)
            log_pz = gaussian_log_density(flat_z, ops.zeros_like(flat_z), ops.zeros_like(flat_z))
            log_qz = gaussian_log_density(flat_z, ops.reshape(mean, (-1, self.latent_dim)),
                                          ops.reshape(log_var, (-1, self.latent_dim)))
            weights.append(ops.convert_to_numpy(ops.reshape(log_px_z + log_pz - log_qz, (n, len(x)))))
        return np.concatenate(weights).astype(np.float64)

    def get_config(self) -> dict:
        return {**super().get_config(), **self.sub_network_config(), "beta": self.beta, "seed": self.seed}
