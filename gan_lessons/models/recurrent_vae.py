r"""A VAE for sequences (Bowman et al. 2016): an LSTM encoder and an LSTM decoder conditioned on z.

Per sequence, in nats:

.. math:: -\mathrm{ELBO}(x) = -\sum_t \log p(x_t \mid x_{<t}, z) + \mathrm{KL}(q(z \mid x) \,\|\, \mathcal N(0, I)),

with teacher forcing (the decoder sees the true x_{<t}) in training and free running (its own
predictions) when generating. Against posterior collapse — a strong autoregressive decoder that
ignores z, KL → 0 — two standard cures: a KL weight annealed from 0 to 1
(``callbacks.KLAnnealing``, Bowman et al.) and free bits (Kingma et al. 2016), which stop charging
for the first λ nats of each latent dimension's batch-averaged KL. A third weakens the decoder
instead: ``input_dropout`` hides some teacher-forced inputs. Free bits charge max(λ, KL_j) ≥ KL_j,
so their loss is still an upper bound on −log p(x), only a looser one; a KL weight below 1 (early in
annealing) charges less than the KL, and that loss is no bound at all. Either way the trackers report
the true KL and the β = 1 −ELBO, the numbers to compare.
"""

from __future__ import annotations

import numpy as np

from gan_lessons.config import keras, tf
from gan_lessons.distribute import DistributedFit, replica_draw, scaled_for_replicas
from gan_lessons.layers import Sampling
from gan_lessons.losses import bernoulli_log_likelihood, gaussian_log_density, kl_to_standard_normal
from gan_lessons.models.base import SubNetworkConfig, checked_inputs, encode_in_batches

ops = keras.ops
LIKELIHOODS = ("bernoulli", "gaussian")


@keras.saving.register_keras_serializable(package="gan_lessons")
class RecurrentVAE(DistributedFit, SubNetworkConfig, keras.Model):
    """Encoder sequence → (μ, log σ²); ``networks.RecurrentDecoder`` [z, x_{<t}] → per-step outputs.

    ``likelihood="bernoulli"``: outputs are logits of values in [0, 1] (digit rows);
    ``"gaussian"``: outputs are means with a fixed ``observation_std`` (sine waves).
    Trackers: ``loss`` (what is minimised), ``reconstruction``, ``kl``, ``neg_elbo``, ``kl_weight``.
    """

    sub_networks = ("encoder", "decoder")

    def __init__(self, encoder: keras.Model, decoder: keras.Model, *, likelihood: str = "bernoulli",
                 observation_std: float = 0.1, kl_weight: float = 1.0, free_bits: float = 0.0,
                 input_dropout: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if len(encoder.outputs) != 2:
            raise ValueError("the encoder must output [z_mean, z_log_var] (see networks.lstm_gaussian_encoder)")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if observation_std <= 0 or kl_weight < 0 or free_bits < 0:
            raise ValueError("observation_std must be > 0, kl_weight and free_bits >= 0")
        if not 0.0 <= input_dropout <= 1.0:
            raise ValueError(f"input_dropout must be in [0, 1], got {input_dropout}")
        self.latent_dim = int(encoder.outputs[0].shape[-1])
        if self.latent_dim != decoder.latent_dim:
            raise ValueError(f"the encoder emits codes of size {self.latent_dim} but the decoder expects "
                             f"{decoder.latent_dim}")
        suitable = ("sample", "sigmoid", "none") if likelihood == "bernoulli" else ("identity", "none")
        if decoder.feedback not in suitable:
            raise ValueError(
                f"a {likelihood} likelihood needs a decoder whose feedback is one of {suitable},"
                f" got {decoder.feedback!r}"
            )
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.observation_std = float(observation_std)
        self.free_bits = float(free_bits)
        self.input_dropout = float(input_dropout)
        self.seed = seed
        self.dropout_seed_generator = keras.random.SeedGenerator(None if seed is None else seed + 1)
        self.kl_weight = keras.Variable(float(kl_weight), trainable=False, name="kl_weight")
        self.sampling = Sampling(seed, name="sampling")
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("loss", "reconstruction", "kl", "neg_elbo", "kl_weight")}
        self.built = True

    @property
    def metrics(self) -> list:
        return list(self.trackers.values())

    def _check(self, data):
        bernoulli = self.likelihood == "bernoulli"
        x = checked_inputs(data, "RecurrentVAE", *((0.0, 1.0) if bernoulli else (None, None)))
        expected = (self.decoder.steps, self.decoder.features)
        if tuple(x.shape[1:]) != expected:
            raise ValueError(f"expected sequences of shape (batch, {expected[0]}, {expected[1]}), got {tuple(x.shape)}")
        return x

    def log_likelihood(self, x, outputs):
        """log p(x | outputs) per sequence, summed over steps and features."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(x, outputs)
        flat_x, flat_mean = (ops.reshape(v, (ops.shape(x)[0], -1)) for v in (x, outputs))
        log_var = ops.full_like(flat_mean, 2.0 * np.log(self.observation_std))
        return gaussian_log_density(flat_x, flat_mean, log_var)

    @staticmethod
    def shift_right(x):
        """x_{<t} for every t: the sequence delayed by one step, zeros first (teacher forcing)."""
        return ops.concatenate([ops.zeros_like(x[:, :1]), x[:, :-1]], axis=1)

    def teacher_inputs(self, x, training: bool = False):
        """The decoder's inputs under teacher forcing, x_{<t}; in training, each step's input is
        replaced by zeros with probability ``input_dropout`` (Bowman et al.'s word dropout), so
        that the decoder cannot always lean on the previous step and has to use z."""
        previous = self.shift_right(x)
        if not training or self.input_dropout == 0.0:
            return previous
        keep = replica_draw(keras.random.uniform, (ops.shape(x)[0], ops.shape(x)[1], 1), self.dropout_seed_generator)
        return previous * ops.cast(keep >= self.input_dropout, previous.dtype)

    def _forward(self, x, training: bool = False):
        """(μ, log σ², the decoder's outputs under teacher forcing from a sampled z)."""
        z_mean, z_log_var = self.encoder(x, training=training)
        outputs = self.decoder([self.sampling(z_mean, z_log_var), self.teacher_inputs(x, training)], training=training)
        return z_mean, z_log_var, outputs

    def call(self, x, training: bool = False):
        """The decoder's outputs for ``x`` under teacher forcing (what Keras calls to build the model under
        a ``tf.distribute`` strategy)."""
        return self._forward(x, training)[2]

    def compute_terms(self, x, training: bool = False):
        """Per-sequence reconstruction (nats), KL, and the per-dimension KL averaged over the batch."""
        z_mean, z_log_var, outputs = self._forward(x, training)
        kl_per_dimension = -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
        return -self.log_likelihood(x, outputs), kl_to_standard_normal(z_mean, z_log_var), ops.mean(kl_per_dimension, 0)

    def _loss(self, reconstruction, kl_per_dimension):
        charged = ops.sum(ops.maximum(kl_per_dimension, self.free_bits))  # free_bits = 0: the plain KL
        return ops.mean(reconstruction) + self.kl_weight * charged

    def _update(self, loss, reconstruction, kl):
        reconstruction, kl = ops.mean(reconstruction), ops.mean(kl)
        for name, value in (("loss", loss), ("reconstruction", reconstruction), ("kl", kl),
                            ("neg_elbo", reconstruction + kl), ("kl_weight", self.kl_weight)):
            self.trackers[name].update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x = self._check(data)
        with tf.GradientTape() as tape:
            reconstruction, kl, kl_per_dimension = self.compute_terms(x, training=True)
            loss = self._loss(reconstruction, kl_per_dimension)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(scaled_for_replicas(gradients), self.trainable_variables)
        return self._update(loss, reconstruction, kl)

    def test_step(self, data):
        reconstruction, kl, kl_per_dimension = self.compute_terms(self._check(data))
        return self._update(self._loss(reconstruction, kl_per_dimension), reconstruction, kl)

    def encode(self, sequences, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """(μ, log σ²) of q(z | x) for each sequence."""
        return encode_in_batches(self.encoder, sequences, batch_size)

    def decode(self, codes, batch_size: int = 256, **free_running) -> np.ndarray:
        """Free-running sequences for the given codes: per-step probabilities (Bernoulli) or means
        (Gaussian). ``free_running`` goes to ``RecurrentDecoder.generate`` (feedback, temperature,
        seed; the seed defaults to 0, so a call is reproducible)."""
        codes = np.asarray(codes, dtype=np.float32)
        free_running.setdefault("seed", 0)
        free_running["seed"] = keras.random.SeedGenerator(free_running["seed"])  # one stream for all batches
        outputs = np.concatenate([ops.convert_to_numpy(self.decoder.generate(codes[i : i + batch_size], **free_running))
                                  for i in range(0, len(codes), batch_size)])
        return 1.0 / (1.0 + np.exp(-outputs)) if self.likelihood == "bernoulli" else outputs

    def reconstruct(self, sequences, **free_running) -> np.ndarray:
        """Free-running decoding of each sequence's posterior mean."""
        return self.decode(self.encode(sequences)[0], **free_running)

    def sample(self, n: int, seed: int = 0, **free_running) -> np.ndarray:
        """n free-running sequences from z ~ N(0, I), reproducible per seed."""
        codes = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.decode(codes, seed=seed, **free_running)

    def get_config(self) -> dict:
        return {**super().get_config(), **self.sub_network_config(), "likelihood": self.likelihood,
                "observation_std": self.observation_std, "kl_weight": float(self.kl_weight.numpy()),
                "free_bits": self.free_bits, "input_dropout": self.input_dropout, "seed": self.seed}
