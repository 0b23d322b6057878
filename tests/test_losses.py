import numpy as np
import pytest

from gan_lessons import losses
from gan_lessons.config import keras
from gan_lessons.layers import Sampling


def numpy_kl(mean, log_var):
    var = np.exp(log_var)
    # KL(N(m, v) || N(0, 1)) per dimension = (v + m² − 1 − log v) / 2
    return np.sum((var + mean**2 - 1 - log_var) / 2, axis=-1)


def test_kl_matches_numpy_and_vanishes_at_the_prior():
    rng = np.random.default_rng(0)
    mean, log_var = rng.normal(size=(5, 3)).astype("float32"), rng.normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(losses.kl_to_standard_normal(mean, log_var), numpy_kl(mean, log_var), rtol=1e-5)
    assert np.all(losses.kl_to_standard_normal(np.zeros((2, 4)), np.zeros((2, 4))).numpy() == 0)


def test_bernoulli_log_likelihood_by_hand():
    x = np.array([[1.0, 0.0, 1.0]], "float32").reshape(1, 3, 1, 1)
    logits = np.array([[0.0, 2.0, -1.0]], "float32").reshape(1, 3, 1, 1)
    p = 1 / (1 + np.exp(-logits.ravel()))
    expected = np.log(p[0]) + np.log(1 - p[1]) + np.log(p[2])
    assert losses.bernoulli_log_likelihood(x, logits).numpy()[0] == pytest.approx(expected, rel=1e-6)
    # summed over pixels, so it equals −784 × Keras' (pixel-averaged) binary cross-entropy
    rng = np.random.default_rng(1)
    x, logits = rng.random((2, 28, 28, 1)).astype("float32"), rng.normal(size=(2, 28, 28, 1)).astype("float32")
    keras_bce = keras.losses.binary_crossentropy(x.reshape(2, -1), logits.reshape(2, -1), from_logits=True)
    np.testing.assert_allclose(-losses.bernoulli_log_likelihood(x, logits), 784 * keras_bce.numpy(), rtol=1e-4)


def test_gaussian_log_density_matches_numpy():
    x, mean, log_var = np.array([[0.5, -1.0]]), np.array([[0.0, 1.0]]), np.array([[0.0, np.log(4.0)]])
    expected = sum(-0.5 * np.log(2 * np.pi * v) - (a - m) ** 2 / (2 * v) for a, m, v in [(0.5, 0, 1), (-1, 1, 4)])
    assert losses.gaussian_log_density(x, mean, log_var).numpy()[0] == pytest.approx(expected)


def test_gan_losses_at_an_undecided_discriminator_are_ln2():
    zeros = np.zeros((8, 1), "float32")
    assert losses.discriminator_loss(zeros, zeros).numpy() == pytest.approx(2 * np.log(2))
    assert losses.generator_loss(zeros).numpy() == pytest.approx(np.log(2))
    assert losses.generator_loss(zeros, saturating=True).numpy() == pytest.approx(-np.log(2))


def test_one_sided_smoothing_only_moves_the_real_target():
    real, fake = np.full((4, 1), 3.0, "float32"), np.full((4, 1), -3.0, "float32")
    sigmoid = 1 / (1 + np.exp(-3.0))
    expected = -(0.9 * np.log(sigmoid) + 0.1 * np.log(1 - sigmoid)) - np.log(sigmoid)
    assert losses.discriminator_loss(real, fake, real_target=0.9).numpy() == pytest.approx(expected, rel=1e-6)


def test_sampling_reparameterizes_with_fresh_seeded_noise():
    layer = Sampling(seed=3)
    mean, log_var = np.full((20000, 2), 1.5, "float32"), np.full((20000, 2), np.log(0.25), "float32")
    first, second = layer(mean, log_var).numpy(), layer(mean, log_var).numpy()
    assert not np.allclose(first, second)
    assert first.mean() == pytest.approx(1.5, abs=0.01) and first.std() == pytest.approx(0.5, rel=0.02)
    np.testing.assert_array_equal(Sampling(seed=3)(mean, log_var).numpy(), first)


def test_feature_reconstruction_is_the_unit_gaussian_nll_without_its_constant():
    rng = np.random.default_rng(0)
    features, reconstructed = rng.normal(size=(3, 4, 4, 5)), rng.normal(size=(3, 4, 4, 5))
    flat_x, flat_r = features.reshape(3, -1), reconstructed.reshape(3, -1)
    log_density = -0.5 * np.sum(np.log(2 * np.pi) + (flat_x - flat_r) ** 2, axis=1)
    expected = -log_density - 0.5 * flat_x.shape[1] * np.log(2 * np.pi)
    got = losses.feature_reconstruction(features.astype("float32"), reconstructed.astype("float32"))
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5)
    assert np.asarray(losses.feature_reconstruction(features, features)).max() == 0.0
