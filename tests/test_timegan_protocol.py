"""TimeGAN's sine data and its two post-hoc scores (Yoon et al. 2019), checked against what they must give."""

import numpy as np
import pytest

from gan_lessons import data, evaluation


def test_timegan_sines_follow_their_formula():
    x = data.timegan_sines(200, seed=3)
    assert x.shape == (200, 24, 5) and x.dtype == np.float32
    # f t + φ stays below π/2 for t = 0, 1, so the first two steps give φ and f back by arcsin.
    phase = np.arcsin(2.0 * x[:, 0].astype(np.float64) - 1.0)
    frequency = np.arcsin(2.0 * x[:, 1].astype(np.float64) - 1.0) - phase
    assert np.all((phase > 0) & (phase < 0.1)) and np.all((frequency > 0) & (frequency < 0.1))
    t = np.arange(24)[None, :, None]
    np.testing.assert_allclose(x, (np.sin(frequency[:, None] * t + phase[:, None]) + 1) / 2, atol=2e-6)
    assert np.all(np.ptp(frequency, axis=1) > 0)  # the features of a sequence have frequencies of their own
    np.testing.assert_array_equal(data.timegan_sines(200, seed=3), x)
    with pytest.raises(ValueError, match="features >= 2"):
        data.timegan_sines(10, features=1)


@pytest.fixture(scope="module")
def sines():
    return data.timegan_sines(1000, seed=0), data.timegan_sines(1000, seed=1)


def test_discriminative_score_is_near_zero_for_real_and_near_half_for_noise(sines):
    real, other = sines
    noise = np.random.default_rng(0).uniform(size=real.shape).astype(np.float32)
    # 1,000 of TimeGAN's 2,000 steps: its two-unit GRU needs about that many to learn even noise apart
    assert evaluation.timegan_discriminative_score(real, other, iterations=1000) < 0.05
    assert evaluation.timegan_discriminative_score(real, noise, iterations=1000) > 0.45


def test_predictive_score_is_lowest_when_trained_on_the_real_distribution(sines):
    real, other = sines
    noise = np.random.default_rng(0).uniform(size=real.shape).astype(np.float32)
    on_real = evaluation.timegan_predictive_score(real, other, iterations=600)
    on_noise = evaluation.timegan_predictive_score(real, noise, iterations=600)
    # The published score of real data is 0.094; from the uniform noise's targets the error is far higher.
    assert 0.07 < on_real < 0.12 and on_noise > on_real + 0.1


def test_scores_refuse_mismatched_or_broken_sequences(sines):
    real, _ = sines
    with pytest.raises(ValueError, match="of one shape"):
        evaluation.timegan_discriminative_score(real, real[:, :-1])
    with pytest.raises(ValueError, match="of one shape"):
        evaluation.timegan_predictive_score(real[0], real[0])
    broken = real.copy()
    broken[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluation.timegan_predictive_score(real, broken)
