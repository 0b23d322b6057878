"""The Wasserstein GAN: its losses against closed forms, the penalty's α, clipping, n_critic fresh
batches, each optimizer on its own player, clear errors and a save/load round trip; the rank
correlation and the training trace that lesson 04 measures with."""

import time

import numpy as np
import pytest

from gan_lessons import callbacks, config, evaluation, exercises
from gan_lessons.config import keras, tf
from gan_lessons.losses import critic_loss, gradient_penalty, wasserstein_generator_loss
from gan_lessons.models import WGAN

SHAPE = (4, 4, 1)


def tiny_generator():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Reshape(SHAPE)(keras.layers.Dense(16, activation="tanh")(inputs)))


def tiny_critic(*extra):
    return keras.Sequential([keras.Input(SHAPE), *extra, keras.layers.Flatten(), keras.layers.Dense(8),
                             keras.layers.LeakyReLU(0.2), keras.layers.Dense(1)])


def tiny_wgan(critic_rate=1e-2, g_rate=1e-2, **options):
    config.seed_everything(0)
    model = WGAN(tiny_generator(), tiny_critic(), seed=0, **options)
    model.compile(critic_optimizer=keras.optimizers.SGD(critic_rate), g_optimizer=keras.optimizers.SGD(g_rate))
    return model


def images(n, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, *SHAPE)).astype("float32")


def values(variables):
    return [v.numpy().copy() for v in variables]


def moved(before, variables):
    return any(not np.array_equal(b, v.numpy()) for b, v in zip(before, variables))


def test_wasserstein_losses_are_the_score_gaps():
    real, fake = np.array([[1.0], [3.0]], "float32"), np.array([[-2.0], [0.5]], "float32")
    assert float(critic_loss(real, fake)) == pytest.approx(-0.75 - 2.0)
    assert float(wasserstein_generator_loss(fake)) == pytest.approx(0.75)


def test_penalty_of_a_linear_critic_is_the_closed_form():
    # C(x) = w·x + b has ∇C = w everywhere, so the penalty is (‖w‖ − 1)², whatever x̂ is
    critic = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(1)])
    w = critic.layers[-1].kernel.numpy().ravel()
    alpha = np.random.default_rng(1).uniform(0, 1, (8, 1, 1, 1)).astype("float32")
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(critic, images(8, 1), images(8, 2), alpha)
    norm = np.linalg.norm(w)
    assert float(penalty) == pytest.approx((norm - 1) ** 2, rel=1e-5)
    # and its gradient reaches the critic's weights: d/dw (‖w‖ − 1)² = 2 (‖w‖ − 1) w / ‖w‖
    gradient = tape.gradient(penalty, critic.layers[-1].kernel).numpy().ravel()
    np.testing.assert_allclose(gradient, 2 * (norm - 1) * w / norm, rtol=1e-4, atol=1e-7)


def test_penalty_takes_one_norm_per_image():
    # C(x) = Σ x² has ∇C(x̂) = 2x̂, so the penalty is mean over images of (2‖x̂_i‖ − 1)²
    critic = keras.Sequential([keras.Input(SHAPE), keras.layers.Lambda(lambda x: keras.ops.sum(x**2, axis=(1, 2, 3)))])
    real, fake = images(6, 3), images(6, 4)
    alpha = np.random.default_rng(5).uniform(0, 1, (6, 1, 1, 1)).astype("float32")
    x_hat = (alpha * real + (1 - alpha) * fake).reshape(6, -1)
    expected = np.mean((2 * np.linalg.norm(x_hat, axis=1) - 1) ** 2)
    assert float(gradient_penalty(critic, real, fake, alpha)) == pytest.approx(expected, rel=1e-5)


def test_alpha_is_uniform_and_fresh_per_image_and_per_call():
    model = tiny_wgan()
    first = keras.ops.convert_to_numpy(model.interpolation_weights(4000))
    second = keras.ops.convert_to_numpy(model.interpolation_weights(4000))
    assert first.shape == (4000, 1, 1, 1)
    assert first.min() >= 0 and first.max() <= 1
    assert first.mean() == pytest.approx(0.5, abs=0.02) and first.std() == pytest.approx(12 ** -0.5, abs=0.02)
    assert len(np.unique(first)) > 3900 and not np.array_equal(first, second)


def test_clipping_keeps_every_critic_weight_within_c():
    model = tiny_wgan(critic_rate=1.0, constraint="clipping", n_critic=2)
    assert all(np.abs(w).max() <= 0.01 for w in values(model.critic.trainable_variables))  # from the start
    model.fit(images(32), batch_size=8, epochs=2, verbose=0)
    weights = values(model.critic.trainable_variables)
    assert all(np.abs(w).max() <= 0.01 + 1e-7 for w in weights)
    assert any(np.isclose(np.abs(w), 0.01).any() for w in weights)  # the large rate pushed some to the edge


def test_n_critic_updates_per_generator_update_each_on_its_own_slice():
    model = tiny_wgan(n_critic=3)
    seen = []
    original = model.critic_objective

    def recording(real, fake):
        seen.append(real)
        return original(real, fake)

    model.critic_objective = recording
    batch = images(12)
    model.train_step(tf.constant(batch))
    assert int(model.d_optimizer.iterations) == 3 and int(model.g_optimizer.iterations) == 1
    # 3 fresh slices of 4, dealt out in turn: step i takes images i, i + 3, i + 6, i + 9
    dealt = np.concatenate([batch[i::3] for i in range(3)])
    np.testing.assert_array_equal(np.concatenate([s.numpy() for s in seen]), dealt)


@pytest.mark.parametrize("frozen", ["generator", "critic"])
def test_each_optimizer_moves_only_its_own_player(frozen):
    model = tiny_wgan(n_critic=2, **{"g_rate" if frozen == "generator" else "critic_rate": 0.0})
    moving = "critic" if frozen == "generator" else "generator"
    before = {name: values(getattr(model, name).trainable_variables) for name in (frozen, moving)}
    model.fit(images(16), batch_size=8, epochs=1, verbose=0)
    assert not moved(before[frozen], getattr(model, frozen).trainable_variables)
    assert moved(before[moving], getattr(model, moving).trainable_variables)


def test_critic_trackers_average_the_critic_steps():
    model = tiny_wgan(n_critic=3)
    seen = []
    original = model.critic_objective

    def recording(real, fake):
        values = original(real, fake)
        seen.append([float(v) for v in values])
        return values

    model.critic_objective = recording
    logs = model.train_step(tf.constant(images(12)))
    means = np.mean(seen, axis=0)
    assert float(logs["critic_loss"]) == pytest.approx(means[0], rel=1e-5)
    assert float(logs["wasserstein"]) == pytest.approx(means[1], rel=1e-5)
    assert float(logs["penalty"]) == pytest.approx(means[2], rel=1e-5)


def test_trackers_report_the_estimate_and_penalty():
    model = tiny_wgan(n_critic=1)
    logs = model.fit(images(16), batch_size=8, epochs=1, verbose=0).history
    assert set(logs) == {"critic_loss", "g_loss", "wasserstein", "penalty"}
    assert logs["penalty"][0] > 0
    assert logs["critic_loss"][0] == pytest.approx(-logs["wasserstein"][0] + logs["penalty"][0], abs=1e-5)
    evaluated = model.evaluate(images(16, 7), batch_size=8, verbose=0, return_dict=True)
    assert set(evaluated) == set(logs)


def test_bad_critics_and_batches_get_clear_errors():
    with pytest.raises(ValueError, match="batch normalization"):
        WGAN(tiny_generator(), tiny_critic(keras.layers.BatchNormalization()))
    sigmoid = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                                keras.layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match="unbounded score"):
        WGAN(tiny_generator(), sigmoid)
    with pytest.raises(ValueError, match="constraint"):
        WGAN(tiny_generator(), tiny_critic(), constraint="spectral")
    with pytest.raises(ValueError, match="multiple of 3"):
        tiny_wgan(n_critic=3).fit(images(8), batch_size=8, epochs=1, verbose=0)


def test_a_wgan_is_used_only_after_compile():
    config.seed_everything(0)
    model = WGAN(tiny_generator(), tiny_critic(), n_critic=1)
    with pytest.raises(ValueError, match="compile"):
        model.fit(images(8), batch_size=8, epochs=1, verbose=0)


def test_round_trip_keeps_weights_settings_and_optimizers(tmp_path):
    model = tiny_wgan(n_critic=2, ema=0.9, constraint="penalty", penalty_weight=5.0)
    model.fit(images(16), batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "wgan.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, WGAN)
    assert (loaded.n_critic, loaded.penalty_weight, loaded.constraint, loaded.ema) == (2, 5.0, "penalty", 0.9)
    np.testing.assert_allclose(loaded.generate(4, seed=3), model.generate(4, seed=3), atol=1e-6)
    noise = images(4, 9)
    np.testing.assert_allclose(loaded.critic(noise).numpy(), model.critic(noise).numpy(), atol=1e-6)
    assert type(loaded.d_optimizer) is type(model.d_optimizer)
    loaded.fit(images(16), batch_size=8, epochs=1, verbose=0)  # trains on


def test_the_held_out_estimate_is_the_score_gap():
    model = tiny_wgan()
    real, fake = images(10, 1), images(10, 2)
    expected = model.critic(real).numpy().mean() - model.critic(fake).numpy().mean()
    assert model.wasserstein_estimate(real, fake, batch_size=3) == pytest.approx(expected, abs=1e-6)


def test_rank_correlation_matches_spearmans_formula_and_handles_ties():
    a, b = np.array([3.0, 1.0, 4.0, 1.5, 5.0, 9.0]), np.array([2.0, 7.0, 1.0, 8.0, 2.5, 0.5])
    d = evaluation.ranks(a) - evaluation.ranks(b)
    n = len(a)
    assert evaluation.rank_correlation(a, b) == pytest.approx(1 - 6 * np.sum(d**2) / (n * (n**2 - 1)))
    np.testing.assert_array_equal(evaluation.ranks([1, 2, 2, 3]), [1, 2.5, 2.5, 4])
    assert evaluation.rank_correlation([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="constant"):
        evaluation.rank_correlation([1, 2, 3], [1, 1, 1])


def test_training_trace_measures_and_stops_on_its_budget():
    model = tiny_wgan(n_critic=1)

    def measure(m):
        time.sleep(0.3)  # measuring is not training: it must not count against the budget
        return {"estimate": m.wasserstein_estimate(images(8, 1), images(8, 2))}

    trace = callbacks.TrainingTrace(measure, seconds=0.2, min_epochs=3)
    start = time.perf_counter()
    history = model.fit(images(16), batch_size=8, epochs=50, callbacks=[trace], verbose=0)
    wall = time.perf_counter() - start
    assert len(history.history["g_loss"]) == 3  # stopped after min_epochs, although 0.2 s had passed
    np.testing.assert_array_equal(trace.column("epoch"), [1, 2, 3])
    # the three 0.3 s measurements are in the wall time but not in the training time, on any machine
    assert trace.trained <= wall - 3 * 0.3 and np.all(np.diff(trace.column("seconds")) > 0)


def test_the_gradient_penalty_exercise_check():
    assert exercises.check_gradient_penalty(gradient_penalty)

    def one_norm_for_the_batch(critic, real, fake, alpha):
        x_hat = tf.constant(alpha * real + (1 - alpha) * fake)
        with tf.GradientTape() as tape:
            tape.watch(x_hat)
            scores = critic(x_hat)
        return (tf.norm(tape.gradient(scores, x_hat)) - 1.0) ** 2

    assert not exercises.check_gradient_penalty(one_norm_for_the_batch)

    def squared_norms(critic, real, fake, alpha):
        x_hat = tf.constant(alpha * real + (1 - alpha) * fake)
        with tf.GradientTape() as tape:
            tape.watch(x_hat)
            scores = critic(x_hat)
        return tf.reduce_mean((tf.reduce_sum(tape.gradient(scores, x_hat) ** 2, axis=[1, 2, 3]) - 1.0) ** 2)

    assert not exercises.check_gradient_penalty(squared_norms)
