r"""The VAE-GAN (Larsen et al. 2016): a VAE whose reconstruction error is measured in the feature
space of a discriminator that is trained, at the same time, to tell real digits from decoded ones.

With :math:`\tilde x` a reconstruction of :math:`x`, :math:`x_p` a decoded prior sample and
:math:`f = \mathrm{Dis}_l` the activations of the discriminator's layer *l*, each network has
its own loss and its own optimizer:

.. math::
   \mathcal L_{\mathrm{prior}} = \mathrm{KL}(q(z\mid x) \,\|\, \mathcal N(0, I)), \qquad
   \mathcal L_{\mathrm{like}} = \tfrac12 \lVert f(x) - f(\tilde x)\rVert^2, \\
   \mathcal L_{\mathrm{Dis}} = \mathrm{BCE}(1, D(x)) + \mathrm{BCE}(0, D(\tilde x)) + \mathrm{BCE}(0, D(x_p)), \\
   \mathcal L_{\mathrm{Enc}} = \mathcal L_{\mathrm{prior}} + \mathcal L_{\mathrm{like}}, \qquad
   \mathcal L_{\mathrm{Dec}} = \gamma\,\mathcal L_{\mathrm{like}}
       + \mathrm{BCE}(1, D(\tilde x)) + \mathrm{BCE}(1, D(x_p)).

The discriminator learns from the GAN loss only; the encoder from KL and the feature
reconstruction only (no adversarial gradient reaches it); the decoder from both, weighted by γ.
With ``reconstruction="likelihood"`` (or ``"both"``), :math:`\mathcal L_{\mathrm{like}}` is (or gains)
the data-space term :math:`-\log \mathcal N(x; \tilde x, \sigma^2 I)` in nats, as in a plain VAE;
subclasses change how codes become samples (``decode_codes``) and what a batch must look like.
Algorithm 1 of the paper writes the decoder's update as γ·L_like − L_GAN and the discriminator's
as a descent on L_GAN; read literally, that makes D *minimise* log D(x) + log(1 − D(G(z))), the
wrong direction. Here D minimises its cross-entropy and the decoder uses the non-saturating loss.
"""

from __future__ import annotations

import numpy as np

from gan_lessons.config import keras, tf
from gan_lessons.distribute import DistributedFit, replica_draw, scaled_for_replicas
from gan_lessons.layers import Sampling
from gan_lessons.losses import (
    binary_crossentropy_on_logits,
    discriminator_loss,
    feature_reconstruction,
    gaussian_log_density,
    kl_to_standard_normal,
)
from gan_lessons.models.base import (
    SubNetworkConfig,
    checked_inputs,
    encode_in_batches,
    matching_code_size,
    predict_in_batches,
)

ops = keras.ops
OPTIMIZERS = ("encoder_optimizer", "decoder_optimizer", "discriminator_optimizer")
RECONSTRUCTIONS = ("features", "likelihood", "both")


@keras.saving.register_keras_serializable(package="gan_lessons")
class VAEGAN(DistributedFit, SubNetworkConfig, keras.Model):
    """Encoder → (μ, log σ²), decoder z → image in [−1, 1], discriminator image → logit with a
    named feature layer; one ``train_step`` updates all three, each with its own loss.

    ``feature_layer`` names D's layer *l*; ``reconstruction`` says what L_like measures: distances in
    D's features (Larsen et al.), the Gaussian negative log-likelihood of the data with
    ``observation_std`` σ, or their sum; ``gamma`` weighs L_like in the decoder's loss;
    ``real_label`` = 0.9 gives one-sided label smoothing for D's real target.
    Trackers (per example, averaged over the epoch): ``kl``, ``feature_reconstruction`` and/or
    ``reconstruction_nll`` (the terms in use), ``encoder_loss``, ``decoder_adversarial``,
    ``decoder_loss``, ``d_loss``, ``d_real_accuracy`` and ``d_fake_accuracy`` (on reconstructions and
    prior samples together).
    """

    sub_networks = ("encoder", "decoder", "discriminator")

    def __init__(self, encoder: keras.Model, decoder: keras.Model, discriminator: keras.Model, *,
                 feature_layer: str = "features_2", gamma: float = 1.0, real_label: float = 1.0,
                 reconstruction: str = "features", observation_std: float = 0.1, seed: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        if len(encoder.outputs) != 2:
            raise ValueError("the encoder must output [z_mean, z_log_var] (see networks.conv_gaussian_encoder)")
        latent = matching_code_size(encoder, decoder)
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"reconstruction must be one of {RECONSTRUCTIONS}, got {reconstruction!r}")
        if observation_std <= 0:
            raise ValueError(f"observation_std must be > 0, got {observation_std}")
        if not 0.5 < real_label <= 1.0:
            raise ValueError(f"real_label must be in (0.5, 1], got {real_label} (0.9 = one-sided smoothing)")
        names = [layer.name for layer in discriminator.layers]
        if feature_layer not in names:
            raise ValueError(f"the discriminator has no layer {feature_layer!r}; its layers are {names}")
        self.encoder = encoder
        self.decoder = decoder
        self.discriminator = discriminator
        self.feature_layer = feature_layer
        # Shares the discriminator's weights: a view of its activations at layer l.
        self.features = keras.Model(discriminator.input, discriminator.get_layer(feature_layer).output,
                                    name=f"{discriminator.name}_{feature_layer}")
        self.latent_dim = latent
        self.gamma = float(gamma)
        self.real_label = float(real_label)
        self.reconstruction = reconstruction
        self.observation_std = float(observation_std)
        self.seed = seed
        self.sampling = Sampling(seed, name="sampling")
        self.prior_seed_generator = keras.random.SeedGenerator(None if seed is None else seed + 1)
        reconstruction_terms = {"features": ("feature_reconstruction",), "likelihood": ("reconstruction_nll",),
                                "both": ("feature_reconstruction", "reconstruction_nll")}[reconstruction]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in (
            "kl", *reconstruction_terms, "encoder_loss", "decoder_adversarial", "decoder_loss",
            "d_loss", "d_real_accuracy", "d_fake_accuracy")}
        self.built = True

    @property
    def metrics(self) -> list:
        return list(self.trackers.values())

    def compile(self, encoder_optimizer: keras.optimizers.Optimizer, decoder_optimizer: keras.optimizers.Optimizer,
                discriminator_optimizer: keras.optimizers.Optimizer, **kwargs):
        """One optimizer per network; each only ever sees its own network's variables."""
        super().compile(**kwargs)
        self.encoder_optimizer = encoder_optimizer
        self.decoder_optimizer = decoder_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.build_optimizers()  # slots made now: the first fit traces train_step once, not twice

    def call(self, x, training: bool = False):
        z_mean, z_log_var = self.encoder(x, training=training)
        return self.decode_codes(self.sampling(z_mean, z_log_var), training=training)

    def decode_codes(self, z, training: bool = False):
        """Samples in data space for codes ``z`` (the one place a subclass changes how the decoder runs)."""
        return self.decoder(z, training=training)

    def _check(self, data):
        return checked_inputs(data, "VAEGAN", -1.0, 1.0, " (data.scale_pixels(x, 'signed'))")

    def compute_losses(self, x, training: bool = False) -> dict:
        """Every term of one step, batch means: the three networks' losses and their parts."""
        z_mean, z_log_var = self.encoder(x, training=training)
        reconstruction = self.decode_codes(self.sampling(z_mean, z_log_var), training=training)
        noise = replica_draw(keras.random.normal, ops.shape(z_mean), self.prior_seed_generator)
        prior_sample = self.decode_codes(noise, training=training)

        kl = ops.mean(kl_to_standard_normal(z_mean, z_log_var))
        like_terms = self.reconstruction_terms(x, reconstruction)
        like = sum(like_terms.values())
        real_logits = self.discriminator(x, training=training)
        reconstruction_logits = self.discriminator(reconstruction, training=training)
        prior_logits = self.discriminator(prior_sample, training=training)
        d_loss = discriminator_loss(real_logits, reconstruction_logits, self.real_label) + (
            binary_crossentropy_on_logits(0.0, prior_logits))
        adversarial = self.decoder_adversarial_loss(reconstruction_logits, prior_logits)
        fake_logits = ops.concatenate([reconstruction_logits, prior_logits])
        return {
            "kl": kl,
            **like_terms,
            "encoder_loss": kl + like,
            "decoder_adversarial": adversarial,
            "decoder_loss": self.gamma * like + adversarial,
            "d_loss": d_loss,
            "d_real_accuracy": ops.mean(ops.cast(real_logits > 0, "float32")),
            "d_fake_accuracy": ops.mean(ops.cast(fake_logits < 0, "float32")),
        }

    def reconstruction_terms(self, x, reconstruction) -> dict:
        """L_like's parts, batch means: ½‖f(x) − f(x̃)‖² in D's features and/or −log N(x; x̃, σ²I)."""
        terms = {}
        if self.reconstruction != "likelihood":
            # Features without dropout: the similarity measure should not be noisy.
            terms["feature_reconstruction"] = ops.mean(feature_reconstruction(
                self.features(x, training=False), self.features(reconstruction, training=False)))
        if self.reconstruction != "features":
            flat_x, flat_mean = (ops.reshape(v, (ops.shape(x)[0], -1)) for v in (x, reconstruction))
            log_var = ops.full_like(flat_mean, 2.0 * np.log(self.observation_std))
            terms["reconstruction_nll"] = -ops.mean(gaussian_log_density(flat_x, flat_mean, log_var))
        return terms

    def decoder_adversarial_loss(self, reconstruction_logits, prior_logits):
        """The decoder's non-saturating GAN loss: it wants D to call both kinds of fake real."""
        return (binary_crossentropy_on_logits(1.0, reconstruction_logits)
                + binary_crossentropy_on_logits(1.0, prior_logits))

    def train_step(self, data):
        x = self._check(data)
        with tf.GradientTape(persistent=True) as tape:
            terms = self.compute_losses(x, training=True)
        for network, loss, optimizer in (
            (self.encoder, terms["encoder_loss"], self.encoder_optimizer),
            (self.decoder, terms["decoder_loss"], self.decoder_optimizer),
            (self.discriminator, terms["d_loss"], self.discriminator_optimizer),
        ):
            variables = network.trainable_variables
            optimizer.apply(scaled_for_replicas(tape.gradient(loss, variables)), variables)
        del tape
        return self._update(terms)

    def test_step(self, data):
        return self._update(self.compute_losses(self._check(data)))

    def _update(self, terms: dict) -> dict:
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        return {m.name: m.result() for m in self.metrics}

    def encode(self, images, batch_size: int = 256) -> np.ndarray:
        """The posterior mean μ of q(z | x) for each image in [−1, 1]."""
        return encode_in_batches(self.encoder, images, batch_size)[0]

    def decode(self, codes, batch_size: int = 256) -> np.ndarray:
        """Images in [−1, 1] for the given codes (the name SampleGrid looks for)."""
        return predict_in_batches(self.decoder, codes, batch_size)

    def reconstruct(self, images) -> np.ndarray:
        """Decode the posterior mean of each image."""
        return self.decode(self.encode(images))

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n images decoded from the prior N(0, I), reproducible per seed."""
        return self.decode(np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32))

    def get_config(self) -> dict:
        return {**super().get_config(), **self.sub_network_config(), "feature_layer": self.feature_layer,
                "gamma": self.gamma, "real_label": self.real_label, "reconstruction": self.reconstruction,
                "observation_std": self.observation_std, "seed": self.seed}

    def get_compile_config(self) -> dict:
        return {name: keras.saving.serialize_keras_object(getattr(self, name)) for name in OPTIMIZERS}

    def compile_from_config(self, config: dict) -> None:
        self.compile(**{name: keras.saving.deserialize_keras_object(config[name]) for name in OPTIMIZERS})

    def build_optimizers(self) -> None:
        """Create each optimizer's slots for its own network's variables (before training or loading a state)."""
        for network, name in zip(self.sub_networks, OPTIMIZERS):
            getattr(self, name).build(getattr(self, network).trainable_variables)
