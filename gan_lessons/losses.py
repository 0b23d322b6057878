r"""Losses shared by the models, each written as in its paper and tested against numpy.

* :func:`kl_to_standard_normal` — :math:`\mathrm{KL}(\mathcal N(\mu, \sigma^2) \| \mathcal N(0, I))
  = -\tfrac12 \sum_j (1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2)`, per example.
* :func:`bernoulli_log_likelihood` — :math:`\log p(x \mid \ell) = \sum_d x_d \log\sigma(\ell_d)
  + (1 - x_d)\log(1 - \sigma(\ell_d))` on logits, summed over pixels, per example.
* :func:`gaussian_log_density` — :math:`\log \mathcal N(x; \mu, \mathrm{diag}\,\sigma^2)`, summed.
* GAN losses on discriminator logits: :func:`discriminator_loss`, :func:`generator_loss`.
* Wasserstein losses on critic scores (Arjovsky et al. 2017): :func:`critic_loss`
  :math:`\mathbb E[C(G(z))] - \mathbb E[C(x)]` and :func:`wasserstein_generator_loss`
  :math:`-\mathbb E[C(G(z))]`; :func:`gradient_penalty` (Gulrajani et al. 2017)
  :math:`\mathbb E[(\lVert \nabla_{\hat x} C(\hat x) \rVert_2 - 1)^2]`.
* :func:`feature_reconstruction` — the VAE-GAN's learned similarity (Larsen et al. 2016):
  :math:`-\log \mathcal N(f(x); f(\tilde x), I) - \tfrac F2 \log 2\pi = \tfrac12 \lVert f(x) - f(\tilde x)\rVert^2`
  on a discriminator layer's F features.
"""

from __future__ import annotations

import math

from gan_lessons.config import keras, tf

ops = keras.ops
LOG_2PI = math.log(2.0 * math.pi)


def _sum_per_example(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


def kl_to_standard_normal(z_mean, z_log_var):
    """Closed-form KL of a diagonal Gaussian to N(0, I), summed over latent dims: shape (batch,)."""
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


def bernoulli_log_likelihood(x, logits):
    """log p(x | logits) of independent Bernoulli pixels, summed per example (stable on logits)."""
    x = ops.cast(x, logits.dtype)
    # x·ℓ − softplus(ℓ) = x log σ(ℓ) + (1 − x) log(1 − σ(ℓ))
    return _sum_per_example(x * logits - ops.softplus(logits))


def gaussian_log_density(x, mean, log_var):
    """log N(x; mean, diag(exp(log_var))), summed over the last axis: shape (batch,)."""
    return -0.5 * ops.sum(LOG_2PI + log_var + ops.square(x - mean) / ops.exp(log_var), axis=-1)


def binary_crossentropy_on_logits(target: float, logits):
    """Mean over the batch of BCE(target, σ(logits)) for one constant target."""
    return ops.mean(target * ops.softplus(-logits) + (1.0 - target) * ops.softplus(logits))


def discriminator_loss(real_logits, fake_logits, real_target: float = 1.0):
    """BCE(real_target, D(x)) + BCE(0, D(G(z))); real_target = 0.9 is one-sided label smoothing."""
    return binary_crossentropy_on_logits(real_target, real_logits) + binary_crossentropy_on_logits(0.0, fake_logits)


def generator_loss(fake_logits, saturating: bool = False):
    """Non-saturating BCE(1, D(G(z))) = −log D(G(z)); or the original minimax −BCE(0, D(G(z)))
    = log(1 − D(G(z))), which saturates (vanishing gradient) when D rejects the fakes."""
    if saturating:
        return -binary_crossentropy_on_logits(0.0, fake_logits)
    return binary_crossentropy_on_logits(1.0, fake_logits)


def feature_reconstruction(features, reconstructed_features):
    """½‖f(x) − f(x̃)‖² per example, summed over all features: the negative log-likelihood of
    f(x) under N(f(x̃), I) without its constant (F/2)·log 2π, which moves no gradient."""
    return 0.5 * _sum_per_example(ops.square(features - reconstructed_features))


def critic_loss(real_scores, fake_scores):
    """E[C(G(z))] − E[C(x)]: the critic maximises the gap between its scores on real and fake
    samples (the Kantorovich–Rubinstein dual), so it minimises the negative gap."""
    return ops.mean(fake_scores) - ops.mean(real_scores)


def wasserstein_generator_loss(fake_scores):
    """−E[C(G(z))]: the generator raises the critic's score of its samples."""
    return -ops.mean(fake_scores)


def gradient_penalty(critic, real, fake, alpha):
    """E[(‖∇ C(x̂)‖₂ − 1)²] at x̂ = α·x + (1 − α)·G(z), one α per sample (shape (B, 1, …, 1)).

    The gradient of the summed scores with respect to x̂ is each sample's own gradient because the
    critic treats samples independently (no batch normalization). Call it inside the critic's
    ``GradientTape`` so that the penalty's own gradient reaches the critic's weights."""
    interpolated = tf.convert_to_tensor(alpha * real + (1.0 - alpha) * fake)
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        scores = critic(interpolated, training=True)
    gradients = tape.gradient(scores, interpolated)
    norms = ops.sqrt(_sum_per_example(ops.square(gradients)) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))
