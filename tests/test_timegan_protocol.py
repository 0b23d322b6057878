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
    with pytest.raises(ValueError, match="at least 160 sequences"):
        evaluation.timegan_discriminative_score(real[:150], real[:150])
    with pytest.raises(ValueError, match="at least 128 sequences"):
        evaluation.timegan_predictive_score(real[:100], real[:100])
    broken = real.copy()
    broken[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluation.timegan_predictive_score(real, broken)


def test_runs_trained_side_by_side_equal_each_run_trained_alone():
    """The block-diagonal model is only a speed-up: each run's predictions are those of its lone GRU."""
    rng = np.random.default_rng(0)
    pool = rng.uniform(size=(40, 6, 3)).astype(np.float32)
    rows = rng.integers(0, 40, size=(30, 8, 2))
    targets = rng.uniform(size=(40, 2)).astype(np.float32)  # one target column per run
    loss = evaluation._summed_over_runs(lambda y, p: (y - p) ** 2)

    def trained(seeds, run_rows, columns):
        def step_targets(step_rows):
            return evaluation.tf.stack([evaluation.tf.gather(targets[:, column], step_rows[:, i])
                                        for i, column in enumerate(columns)], axis=-1)

        model = evaluation._post_hoc_grus(6, 3, 2, seeds, every_step=False)
        evaluation._fit_runs(model, pool, run_rows, step_targets, loss)
        return model

    together = trained([5, 8], rows, [0, 1])
    both = np.asarray(together(evaluation._side_by_side(np.repeat(pool[:10, None], 2, axis=1))))
    for run, seed in enumerate((5, 8)):
        alone = trained([seed], rows[:, :, run:run + 1], [run])
        np.testing.assert_allclose(both[:, run], np.asarray(alone(pool[:10]))[:, 0], atol=1e-5)


def test_several_sets_and_repeats_in_one_call(sines):
    real, other = sines
    noise = np.random.default_rng(0).uniform(size=real.shape).astype(np.float32)
    scores = evaluation.timegan_discriminative_scores(real, [other, noise], repeats=3, iterations=1000)
    assert scores.shape == (2, 3)
    assert np.all(scores[0] < 0.05) and np.all(scores[1] > 0.45)
    assert len(set(np.round(scores[1], 6))) > 1  # each repeat has its own split, start and batches
    predictive = evaluation.timegan_predictive_scores(real, [other, noise], repeats=2, iterations=600)
    assert predictive.shape == (2, 2) and np.all(predictive[1] > predictive[0] + 0.1)
    with pytest.raises(ValueError, match="list of sets"):
        evaluation.timegan_discriminative_scores(real, other)


def test_window_metrics_see_real_sines_continue_and_a_drifting_one_change():
    reference = data.sine_waves(300, seed=1)
    source = data.sine_waves(200, seed=2)
    t = np.arange(90)[None, :]
    # the real data continued in time: the same frequency (cycles per 30 steps), amplitude and phase
    continued = (source.amplitude[:, None] * np.sin(2 * np.pi * source.frequency[:, None] * t / 30
                                                     + source.phase[:, None]))[..., None]
    rows = evaluation.window_metrics(continued, reference)
    assert len(rows) == 3
    assert all(row["in_range"] > 0.95 and row["frequency_drift"] < 0.01 and row["amplitude_drift"] < 0.01
               for row in rows)
    fading = continued * np.linspace(1.0, 0.1, 90)[None, :, None]  # the amplitude dies away
    faded = evaluation.window_metrics(fading, reference)
    assert faded[2]["amplitude_drift"] > 0.2 > faded[0]["amplitude_drift"] == 0.0
    with pytest.raises(ValueError, match="windows of the data's length"):
        evaluation.window_metrics(continued[:, :45], reference)
