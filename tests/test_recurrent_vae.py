"""The recurrent VAE: teacher forcing vs free running, KL weight, free bits, serialization."""

import numpy as np
import pytest

from gan_lessons import config, data, networks
from gan_lessons.callbacks import KLAnnealing
from gan_lessons.config import keras
from gan_lessons.models import RecurrentVAE


def tiny_rvae(condition="both", feedback="sample", **options):
    config.seed_everything(0)
    model = RecurrentVAE(networks.lstm_gaussian_encoder(3, steps=6, features=4, units=8),
                         networks.RecurrentDecoder(3, steps=6, features=4, units=8, condition=condition,
                                                   feedback=feedback),
                         seed=0, **options)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


@pytest.fixture(scope="module")
def rows():
    return np.random.default_rng(0).uniform(size=(32, 6, 4)).astype("float32")


def test_teacher_forcing_sees_only_the_past(rows):
    """Changing x_t must not change the outputs for steps ≤ t (the decoder is causal)."""
    model = tiny_rvae()
    z = np.zeros((1, 3), dtype="float32")
    changed = rows[:1].copy()
    changed[0, 3] = 1.0 - changed[0, 3]
    a = keras.ops.convert_to_numpy(model.decoder([z, RecurrentVAE.shift_right(rows[:1])]))
    b = keras.ops.convert_to_numpy(model.decoder([z, RecurrentVAE.shift_right(changed)]))
    np.testing.assert_array_equal(a[0, :4], b[0, :4])
    assert not np.allclose(a[0, 4:], b[0, 4:])


def test_free_running_equals_teacher_forcing_on_its_own_outputs():
    model = tiny_rvae()
    z = np.random.default_rng(1).normal(size=(2, 3)).astype("float32")
    free = keras.ops.convert_to_numpy(model.decoder.generate(z, feedback="sigmoid"))
    fed = 1 / (1 + np.exp(-free))  # the feedback the free-running loop used
    forced = keras.ops.convert_to_numpy(model.decoder([z, RecurrentVAE.shift_right(fed)]))
    np.testing.assert_allclose(forced, free, atol=1e-5)


def test_sampled_feedback_is_seeded_and_greedy_at_low_temperature():
    model = tiny_rvae()
    z = np.random.default_rng(1).normal(size=(8, 3)).astype("float32")
    first, again, other = (model.sample(8, seed=seed) for seed in (3, 3, 4))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    greedy = keras.ops.convert_to_numpy(model.decoder.generate(z, temperature=1e-6, seed=0))
    fed = (greedy > 0).astype("float32")  # at temperature → 0 a draw is the most likely value
    forced = keras.ops.convert_to_numpy(model.decoder([z, RecurrentVAE.shift_right(fed)]))
    np.testing.assert_allclose(forced, greedy, atol=1e-5)
    with pytest.raises(ValueError, match="temperature"):
        model.decoder.generate(z, temperature=0.0)
    with pytest.raises(ValueError, match="feedback"):
        model.decoder.generate(z, feedback="none")


def test_a_decoder_without_feedback_writes_from_z_alone(rows):
    config.seed_everything(0)
    decoder = networks.RecurrentDecoder(3, steps=6, features=4, units=8, condition="both", feedback="none")
    z = np.random.default_rng(1).normal(size=(2, 3)).astype("float32")
    forced = keras.ops.convert_to_numpy(decoder([z, RecurrentVAE.shift_right(rows[:2])]))
    ignored = keras.ops.convert_to_numpy(decoder([z, np.zeros_like(rows[:2])]))
    np.testing.assert_array_equal(forced, ignored)  # the teacher's values are never read
    np.testing.assert_allclose(keras.ops.convert_to_numpy(decoder.generate(z)), forced, atol=1e-5)
    with pytest.raises(ValueError, match="every step"):
        networks.RecurrentDecoder(3, steps=6, features=4, condition="state", feedback="none")


def test_a_step_trains_both_networks_but_not_the_kl_weight(rows):
    model = tiny_rvae(kl_weight=0.3)
    before = {name: getattr(model, name).get_weights() for name in ("encoder", "decoder")}
    model.train_on_batch(rows)
    for name, weights in before.items():
        assert all(not np.allclose(a, b) for a, b in zip(weights, getattr(model, name).get_weights())), name
    assert float(model.kl_weight.numpy()) == pytest.approx(0.3)
    assert not any(v is model.kl_weight for v in model.trainable_variables)


def test_input_dropout_hides_whole_steps_in_training_only(rows):
    shifted = keras.ops.convert_to_numpy(RecurrentVAE.shift_right(rows))
    assert np.array_equal(keras.ops.convert_to_numpy(tiny_rvae().teacher_inputs(rows, training=True)), shifted)
    model = tiny_rvae(input_dropout=0.5)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.teacher_inputs(rows, training=False)), shifted)
    dropped = keras.ops.convert_to_numpy(model.teacher_inputs(rows, training=True))
    hidden = (dropped == 0).all(axis=-1) & (shifted != 0).any(axis=-1)
    kept = (dropped == shifted).all(axis=-1)
    assert (hidden | kept).all()  # a step is either hidden entirely or passed on unchanged
    assert 0.3 < hidden[:, 1:].mean() < 0.7
    again = keras.ops.convert_to_numpy(model.teacher_inputs(rows, training=True))
    assert not np.array_equal(dropped, again)  # a fresh mask per call
    everything = keras.ops.convert_to_numpy(tiny_rvae(input_dropout=1.0).teacher_inputs(rows, training=True))
    assert not everything.any()


def test_trackers_free_bits_and_kl_weight(rows):
    plain = tiny_rvae(kl_weight=0.5)
    logs = plain.evaluate(rows, verbose=0, return_dict=True, batch_size=32)
    assert logs["neg_elbo"] == pytest.approx(logs["reconstruction"] + logs["kl"], rel=1e-5)
    assert logs["loss"] == pytest.approx(logs["reconstruction"] + 0.5 * logs["kl"], rel=1e-5)
    assert logs["kl_weight"] == pytest.approx(0.5)
    free = tiny_rvae(free_bits=10.0)  # far above an untrained model's KL per dimension
    logs = free.evaluate(rows, verbose=0, return_dict=True, batch_size=32)
    assert logs["loss"] == pytest.approx(logs["reconstruction"] + 3 * 10.0, rel=1e-5)


def test_kl_annealing_raises_the_weight_to_one(rows):
    model = tiny_rvae(kl_weight=0.0)
    history = model.fit(rows, epochs=3, batch_size=8, callbacks=[KLAnnealing(steps=8)], verbose=0).history
    assert history["kl_weight"][0] < history["kl_weight"][1] < history["kl_weight"][2] <= 1.0
    assert float(model.kl_weight.numpy()) == 1.0


def test_gaussian_likelihood_matches_numpy():
    model = tiny_rvae(feedback="identity", likelihood="gaussian", observation_std=0.5)
    x, mean = np.ones((2, 6, 4), "float32"), np.zeros((2, 6, 4), "float32")
    expected = np.sum(-0.5 * np.log(2 * np.pi * 0.25) - 0.5 * (x - mean) ** 2 / 0.25, axis=(1, 2))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.log_likelihood(x, mean)), expected, rtol=1e-5)


def test_round_trip_and_bad_input(rows, tmp_path):
    model = tiny_rvae(condition="state", free_bits=0.1, input_dropout=0.25)
    model.fit(rows, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "rvae.keras")
    restored = keras.saving.load_model(tmp_path / "rvae.keras")
    assert (restored.free_bits, restored.input_dropout, restored.decoder.condition) == (0.1, 0.25, "state")
    np.testing.assert_allclose(restored.sample(3, seed=2), model.sample(3, seed=2), atol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        model.fit(rows[:, :5], epochs=1, verbose=0)
    with pytest.raises(Exception, match=r"\[0, 1\]"):
        model.fit(rows * 3, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="condition"):
        networks.RecurrentDecoder(3, 6, 4, condition="everywhere")
    with pytest.raises(ValueError, match="gaussian likelihood needs a decoder whose feedback"):
        RecurrentVAE(networks.lstm_gaussian_encoder(3, steps=6, features=4), networks.RecurrentDecoder(3, 6, 4),
                     likelihood="gaussian")


def test_digit_rows_fit_the_decoder():
    rows = data.digit_rows(data.load_digits("bundled", n_train=10, verbose=False).x_train)
    decoder = networks.RecurrentDecoder(2, steps=28, features=28, units=8)
    out = decoder([np.zeros((10, 2), "float32"), RecurrentVAE.shift_right(rows)])
    assert tuple(out.shape) == (10, 28, 28)
