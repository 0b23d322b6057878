"""Sequence data and the metrics that judge generated sequences."""

import numpy as np
import pytest

from gan_lessons import data, evaluation


def test_sine_waves_follow_the_rcgan_recipe():
    sines = data.sine_waves(500, seed=1)
    assert sines.x.shape == (500, 30, 1) and sines.x.dtype == np.float32
    assert 1 <= sines.frequency.min() and sines.frequency.max() <= 5
    assert 0.1 <= sines.amplitude.min() and sines.amplitude.max() <= 0.9
    t = np.arange(30)
    i = 7
    expected = sines.amplitude[i] * np.sin(2 * np.pi * sines.frequency[i] * t / 30 + sines.phase[i])
    np.testing.assert_allclose(sines.x[i, :, 0], expected, atol=1e-6)
    np.testing.assert_array_equal(data.sine_waves(5, seed=1).x, sines.x[:5])
    assert not np.array_equal(data.sine_waves(5, seed=2).x, sines.x[:5])
    with pytest.raises(ValueError, match="n >= 1"):
        data.sine_waves(0)


def test_digit_rows_read_images_top_to_bottom():
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[1, 3, :] = 255
    rows = data.digit_rows(images)
    assert rows.shape == (2, 28, 28) and rows.dtype == np.float32
    assert rows[1, 3].min() == 1.0 and rows[1].sum() == 28


def test_sine_fit_recovers_known_sines():
    sines = data.sine_waves(200, seed=3)
    frequency, amplitude = evaluation.sine_fit(sines.x)
    np.testing.assert_allclose(frequency, sines.frequency, atol=0.011)
    np.testing.assert_allclose(amplitude, sines.amplitude, atol=0.02)


def test_mmd_is_near_zero_within_a_distribution_and_large_between():
    a, b = data.sine_waves(300, seed=4).x, data.sine_waves(300, seed=5).x
    bandwidth = evaluation.median_bandwidth(a, b)
    same = evaluation.mmd_squared(a, b, bandwidth=bandwidth)
    shifted = evaluation.mmd_squared(a, b + 0.5, bandwidth=bandwidth)
    assert abs(same) < 0.005 and shifted > 20 * max(abs(same), 1e-4)


def test_mmd_matches_a_hand_computation_with_one_kernel():
    x = np.array([[0.0], [1.0]])
    y = np.array([[0.0], [3.0]])
    k = lambda a, b: np.exp(-((a - b) ** 2) / 2)  # noqa: E731  (σ = 1, one scale)
    expected = 2 * k(0, 1) / 2 + 2 * k(0, 3) / 2 - 2 * (k(0, 0) + k(0, 3) + k(1, 0) + k(1, 3)) / 4
    assert evaluation.mmd_squared(x, y, scales=(1.0,), bandwidth=1.0) == pytest.approx(expected)


def test_mmd_calibration_is_the_halves_bandwidth_and_noise_of_matching_scale():
    reference = data.sine_waves(400, seed=8).x
    bandwidth, noise = evaluation.mmd_calibration(reference, seed=3)
    assert bandwidth == evaluation.median_bandwidth(reference[:200], reference[200:])
    assert noise.shape == reference.shape and noise.std() == pytest.approx(reference.std(), rel=0.05)
    np.testing.assert_array_equal(evaluation.mmd_calibration(reference, seed=3)[1], noise)


def test_sine_metrics_praise_real_sines_and_catch_a_collapsed_set():
    reference, other = data.sine_waves(400, seed=8), data.sine_waves(400, seed=9)
    real = evaluation.sine_metrics(other.x, reference)
    assert real["in_range"] >= 0.98  # fits of sines at the edges (f ≈ 1, A ≈ 0.1) may land just outside
    assert 0.85 < real["frequency_spread"] < 1.15 and 0.85 < real["amplitude_spread"] < 1.15
    assert real["mmd_ratio"] < 0.05 and real["mmd2_noise"] > 0
    collapsed = evaluation.sine_metrics(np.repeat(other.x[:1], 400, axis=0), reference)
    assert collapsed["in_range"] in (0.0, 1.0)  # every sample is the same sine
    assert collapsed["frequency_spread"] == 0 and collapsed["amplitude_spread"] == 0
    assert collapsed["mmd_ratio"] > 0.5
    with pytest.raises(ValueError, match="shape"):
        evaluation.sine_metrics(other.x[:, :20], reference)


def test_discriminative_score_tells_noise_from_sines_but_not_sines_from_sines():
    real, other = data.sine_waves(400, seed=6).x, data.sine_waves(400, seed=7).x
    noise = np.random.default_rng(0).normal(0, real.std(), real.shape).astype(np.float32)
    assert evaluation.discriminative_score(real, noise) > 0.4
    assert evaluation.discriminative_score(real, other) < 0.1


def tiny_lstm_gan(per_step=False, rates=(1e-2, 1e-2), **options):
    from gan_lessons import config
    from gan_lessons.config import keras
    from gan_lessons.models import LSTMGAN

    config.seed_everything(0)
    model = LSTMGAN.from_sizes(6, noise_dim=2, units=4, per_step=per_step, seed=0, **options)
    model.compile(d_optimizer=keras.optimizers.SGD(rates[0]), g_optimizer=keras.optimizers.SGD(rates[1]))
    return model


@pytest.mark.parametrize("per_step", [False, True])
def test_the_lstm_gan_plays_recurrent_players_with_per_step_noise(per_step, tmp_path):
    from gan_lessons.config import keras

    model = tiny_lstm_gan(per_step)
    assert model.noise_shape == (6, 2)
    first, second = model._noise(3).numpy(), model._noise(3).numpy()
    assert first.shape == (3, 6, 2) and not np.allclose(first, second)
    assert not np.allclose(first[:, 0], first[:, 1])  # fresh noise at every step, not one vector repeated
    real = data.sine_waves(32, length=6, seed=0).x
    logs = model.fit(real, epochs=2, batch_size=16, verbose=0).history
    assert np.isfinite(logs["d_loss"]).all()
    samples = model.generate(5, seed=1)
    assert samples.shape == (5, 6, 1) and np.abs(samples).max() <= 1
    model.save(tmp_path / "lstm_gan.keras")
    restored = keras.saving.load_model(tmp_path / "lstm_gan.keras")
    assert type(restored).__name__ == "LSTMGAN" and restored.steps == 6
    np.testing.assert_array_equal(restored.generate(5, seed=1), samples)


@pytest.mark.parametrize("moving", ["discriminator", "generator"])
def test_each_lstm_gan_step_moves_only_its_own_player(moving):
    model = tiny_lstm_gan(rates=(0.5, 0.0) if moving == "discriminator" else (0.0, 0.5))
    before = {name: getattr(model, name).get_weights() for name in ("generator", "discriminator")}
    model.train_on_batch(data.sine_waves(16, length=6, seed=0).x)
    for name, weights in before.items():
        changed = any(not np.allclose(a, b) for a, b in zip(weights, getattr(model, name).get_weights()))
        assert changed == (name == moving)


def test_a_packed_lstm_gan_judges_pairs_of_sequences():
    model = tiny_lstm_gan(packing=2)
    assert tuple(model.discriminator.inputs[0].shape[1:]) == (6, 2)  # two sequences side by side
    logs = model.fit(data.sine_waves(32, length=6, seed=0).x, epochs=1, batch_size=16, verbose=0).history
    assert np.isfinite(logs["d_loss"]).all() and model.generate(3).shape == (3, 6, 1)


def test_the_lstm_gan_refuses_mismatched_players_and_bad_sequences():
    from gan_lessons import networks
    from gan_lessons.models import LSTMGAN

    with pytest.raises(ValueError, match="per-step noise"):
        LSTMGAN(networks.mlp_generator(2, output_dim=6), networks.lstm_discriminator(6, 1, 4))
    with pytest.raises(ValueError, match="reads sequences of shape"):
        LSTMGAN(networks.lstm_generator(2, 6, 4), networks.lstm_discriminator(8, 1, 4))
    model = tiny_lstm_gan()
    with pytest.raises(ValueError, match=r"shape \(batch, 6, 1\)"):
        model.train_on_batch(np.zeros((4, 5, 1), np.float32))
    with pytest.raises(Exception, match=r"\[-1, 1\]"):
        model.train_on_batch(np.full((4, 6, 1), 3.0, np.float32))


def _sines(frequency, amplitude, seed=0):
    """Exact sines with the given per-sequence frequencies and amplitudes and random phases."""
    phase = np.random.default_rng(seed).uniform(-np.pi, np.pi, len(frequency))
    t = np.arange(30)
    return (amplitude[:, None] * np.sin(2 * np.pi * frequency[:, None] * t / 30 + phase[:, None]))[..., None]


@pytest.fixture(scope="module")
def held_out():
    return data.sine_waves(1000, seed=11)


def test_range_coverage_and_wasserstein_match_closed_forms():
    assert evaluation.range_coverage(np.linspace(1, 5, 800), (1, 5)) == 1.0
    assert evaluation.range_coverage(np.linspace(1, 4, 800), (1, 5)) == 0.75  # two of eight bins empty
    assert evaluation.range_coverage(np.full(100, 3.0), (1, 5)) == 0.125
    # W1(U[0, 1], U[0, 1] + 0.3) = 0.3; W1(U[1, 4], U[1, 5]) = 3/8 + 1/8 = 0.5
    a = np.linspace(0, 1, 4001)
    assert evaluation.wasserstein_1d(a, a + 0.3) == pytest.approx(0.3, abs=1e-3)
    assert evaluation.wasserstein_1d(np.linspace(1, 4, 4001), np.linspace(1, 5, 4001)) == pytest.approx(0.5, abs=2e-3)


def test_held_out_real_sines_pass_every_target(held_out):
    result = evaluation.sine_metrics(data.sine_waves(1000, seed=12).x, held_out)
    assert result["passes"] and result["failed"] == []
    assert result["frequency_distance"] < 0.03 and result["amplitude_distance"] < 0.03


@pytest.mark.parametrize("frequency, amplitude, must_fail", [
    ((1.0, 4.0), (0.1, 0.9), {"frequency_coverage", "frequency_distance"}),  # a quarter of the frequencies missing
    ((1.0, 5.0), (0.1, 0.5), {"amplitude_coverage", "amplitude_distance"}),  # half of the amplitudes missing
    ((1.0, 5.0), (0.5, 0.9), {"amplitude_coverage", "amplitude_distance"}),
    ((3.0, 3.0), (0.1, 0.9), {"frequency_coverage", "frequency_distance"}),  # collapsed to one frequency
], ids=["f in [1, 4]", "A in [0.1, 0.5]", "A in [0.5, 0.9]", "f = 3 only"])
def test_partly_collapsed_sines_fail(held_out, frequency, amplitude, must_fail):
    rng = np.random.default_rng(3)
    generated = _sines(rng.uniform(*frequency, 1000), rng.uniform(*amplitude, 1000))
    result = evaluation.sine_metrics(generated, held_out)
    assert result["in_range"] > 0.95  # every one of them is a good sine on its own
    assert not result["passes"] and must_fail <= set(result["failed"]), result["failed"]


def test_mmd_anchors_place_a_frequency_collapse_beyond_noise(held_out):
    result = evaluation.sine_metrics(data.sine_waves(1000, seed=12).x, held_out)
    assert abs(result["mmd_ratio"]) < 0.05
    assert result["mmd2_collapsed"] > result["mmd2_noise"] > 0
    np.testing.assert_allclose(evaluation.sine_fit(evaluation.collapsed_sines(held_out)[:20])[0], 3.0)


def test_discriminative_score_has_no_side_effects_and_repeats():
    import random

    from gan_lessons.config import keras

    real, other = data.sine_waves(100, seed=6).x, data.sine_waves(100, seed=7).x
    keras.utils.set_random_seed(5)
    before = (random.random(), np.random.rand(), float(keras.random.uniform(())))
    keras.utils.set_random_seed(5)
    first = evaluation.discriminative_score(real, other, epochs=2)
    after = (random.random(), np.random.rand(), float(keras.random.uniform(())))
    assert after == before  # the caller's random streams are where they were
    np.random.seed(123)
    assert evaluation.discriminative_score(real, other, epochs=2) == first


def test_the_reused_post_hoc_discriminator_trains_like_a_new_one():
    real, other = data.sine_waves(100, seed=6).x, data.sine_waves(100, seed=7).x * 0.8

    def trained_weights(seed):
        evaluation.discriminative_score(real, other, seed=seed, epochs=2)
        (model, _), = (entry for key, entry in evaluation._POST_HOC_DISCRIMINATORS.items() if key[0] == real.shape[1:])
        return [w.copy() for w in model.get_weights()]

    evaluation._POST_HOC_DISCRIMINATORS.clear()
    new = trained_weights(3)  # a model built for this call
    trained_weights(4)  # the same model trained again from another start
    again = trained_weights(3)  # re-initialized: weights and optimizer state as new
    for a, b in zip(new, again):
        np.testing.assert_array_equal(a, b)


def test_the_lstm_gan_writes_longer_sequences_with_the_same_weights():
    from gan_lessons.models.base import predict_in_batches

    model = tiny_lstm_gan(False, ema=0.9)
    np.testing.assert_array_equal(model.generate(5, seed=3), model.generate(5, seed=3, steps=6))
    longer = model.generate(5, seed=3, steps=18)
    assert longer.shape == (5, 18, 1) and np.all(np.isfinite(longer))
    # the first 6 steps read the first 6 noise vectors: the same as the 6-step generator on them
    noise = np.random.default_rng(3).standard_normal((5, 18, 2)).astype(np.float32)
    np.testing.assert_allclose(longer[:, :6], predict_in_batches(model.ema_generator, noise[:, :6]), atol=1e-6)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        model.generate(5, steps=0)
