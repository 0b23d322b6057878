import numpy as np
import pytest

from gan_lessons import config, data, networks
from gan_lessons.config import keras
from gan_lessons.models import GAN, VAE
from gan_lessons.models.gan import pack


@pytest.fixture(scope="module")
def digits():
    return data.scale_pixels(data.load_digits("bundled", n_train=64, verbose=False).x_train)


def tiny_vae(beta=1.0):
    config.seed_everything(0)
    model = VAE(networks.gaussian_encoder(2, hidden=(16,)),
                networks.dense_decoder(2, hidden=(16,), output_activation=None), beta=beta, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


def tiny_gan(**options):
    config.seed_everything(0)
    discriminator = networks.mlp_discriminator(2 * options.get("packing", 1), hidden=(8,))
    model = GAN(networks.mlp_generator(3, hidden=(8,)), discriminator, seed=0, **options)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=keras.optimizers.Adam(1e-2))
    return model


def values(variables):
    return [v.numpy().copy() for v in variables]


def changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def test_vae_trackers_are_the_elbo_terms(digits):
    model = tiny_vae(beta=0.5)
    logs = model.evaluate(digits, verbose=0, return_dict=True, batch_size=64)
    assert logs["neg_elbo"] == pytest.approx(logs["reconstruction"] + logs["kl"], rel=1e-5)
    assert logs["loss"] == pytest.approx(logs["reconstruction"] + 0.5 * logs["kl"], rel=1e-5)
    assert 100 < logs["reconstruction"] < 784, "summed over pixels: hundreds of nats per digit"


def test_vae_training_lowers_the_bound_and_round_trips(digits, tmp_path):
    model = tiny_vae()
    before = model.evaluate(digits, verbose=0, return_dict=True)["neg_elbo"]
    model.fit(digits, epochs=15, batch_size=16, verbose=0)
    after = model.evaluate(digits, verbose=0, return_dict=True)["neg_elbo"]
    assert after < before - 50
    model.save(tmp_path / "vae.keras")
    restored = keras.saving.load_model(tmp_path / "vae.keras")
    np.testing.assert_array_equal(restored.encode(digits)[0], model.encode(digits)[0])
    np.testing.assert_array_equal(restored.sample(5, seed=1), model.sample(5, seed=1))


def test_vae_rejects_inputs_outside_unit_range(digits):
    with pytest.raises(Exception, match=r"\[0, 1\]"):
        tiny_vae().fit(digits * 255, epochs=1, verbose=0)


def test_importance_weights_average_to_the_elbo(digits):
    model = tiny_vae()
    weights = model.log_importance_weights(digits[:8], k=400)
    assert weights.shape == (400, 8) and weights.dtype == np.float64
    logs = model.evaluate(digits[:8], verbose=0, return_dict=True, batch_size=8)
    assert -weights.mean() == pytest.approx(logs["neg_elbo"], rel=0.02)


@pytest.mark.parametrize("frozen_player", ["generator", "discriminator"])
def test_each_optimizer_moves_only_its_own_player(frozen_player):
    """Give one player's optimizer a zero learning rate: that player must not move at all,
    so the other player's step never touches its variables."""
    model = tiny_gan()
    rates = {"generator": 0.0, "discriminator": 0.0}
    rates[{"generator": "discriminator", "discriminator": "generator"}[frozen_player]] = 0.1
    model.compile(d_optimizer=keras.optimizers.SGD(rates["discriminator"]),
                  g_optimizer=keras.optimizers.SGD(rates["generator"]))
    real = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    frozen = getattr(model, frozen_player)
    moving = model.generator if frozen_player == "discriminator" else model.discriminator
    frozen_before, moving_before = values(frozen.weights), values(moving.weights)
    model.fit(real, epochs=1, batch_size=32, verbose=0)
    assert not any(changed(frozen_before, frozen.weights))
    assert any(changed(moving_before, moving.weights))


def test_gan_draws_new_noise_every_step():
    model = tiny_gan()
    assert not np.allclose(model._noise(4).numpy(), model._noise(4).numpy())


def test_gan_round_trip_keeps_weights_options_and_optimizers(tmp_path):
    model = tiny_gan(real_label=0.9, d_steps=2, packing=2)
    real = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    logs = model.fit(real, epochs=2, batch_size=16, verbose=0).history
    assert set(logs) == {"d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy"}
    model.save(tmp_path / "gan.keras")
    restored = keras.saving.load_model(tmp_path / "gan.keras")
    assert (restored.real_label, restored.d_steps, restored.packing) == (0.9, 2, 2)
    np.testing.assert_array_equal(restored.generate(10, seed=3), model.generate(10, seed=3))
    for a, b in zip(model.d_optimizer.variables, restored.d_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_ema_generator_tracks_a_moving_average_and_round_trips(tmp_path):
    model = tiny_gan(ema=0.5)
    start = values(model.generator.weights)
    np.testing.assert_array_equal(values(model.ema_generator.weights)[0], start[0])
    real = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    model.fit(real, epochs=1, batch_size=16, verbose=0)  # step 1: warm-up decay min(0.5, 2/11) = 2/11
    for average, old, new in zip(model.ema_generator.weights, start, model.generator.weights):
        np.testing.assert_allclose(average.numpy(), 2 / 11 * old + 9 / 11 * new.numpy(), rtol=1e-6, atol=1e-7)
    previous, before = values(model.ema_generator.weights), values(model.generator.weights)
    model.fit(real, epochs=1, batch_size=16, verbose=0)  # step 2: min(0.5, 3/12) = 1/4
    for average, old, new in zip(model.ema_generator.weights, previous, model.generator.weights):
        np.testing.assert_allclose(average.numpy(), 0.25 * old + 0.75 * new.numpy(), rtol=1e-6, atol=1e-7)
    assert any(not np.array_equal(a, b) for a, b in zip(before, values(model.generator.weights)))
    later = keras.ops.convert_to_numpy(model.ema_decay(10_000))
    assert later == pytest.approx(0.5)  # after the warm-up the decay is the asked ema
    assert not model.ema_generator.trainable_weights
    model.save(tmp_path / "gan.keras")
    restored = keras.saving.load_model(tmp_path / "gan.keras")
    np.testing.assert_array_equal(restored.generate(5, seed=1), model.generate(5, seed=1))
    with pytest.raises(ValueError, match="ema"):
        tiny_gan(ema=1.0)


def test_packing_concatenates_consecutive_samples():
    points = np.arange(12, dtype="float32").reshape(6, 2)
    np.testing.assert_array_equal(pack(points, 2).numpy(), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
    images = np.arange(2 * 28 * 28, dtype="float32").reshape(2, 28, 28, 1)
    packed = pack(images, 2).numpy()
    assert packed.shape == (1, 28, 28, 2)
    np.testing.assert_array_equal(packed[0, ..., 1], images[1, ..., 0])


def test_bad_gan_options_are_rejected():
    with pytest.raises(ValueError, match="real_label"):
        GAN(networks.mlp_generator(2), networks.mlp_discriminator(), real_label=0.3)


def test_packing_with_an_odd_batch_is_a_clear_error():
    model = tiny_gan(packing=2)
    real = np.random.default_rng(0).normal(size=(15, 2)).astype("float32")
    with pytest.raises(Exception, match="multiple of 2"):
        model.fit(real, epochs=1, batch_size=15, verbose=0)
    dataset = data.make_dataset(real, batch_size=4, drop_remainder=True)
    assert [len(batch) for batch in dataset] == [4, 4, 4]
    tiny_gan(packing=2).fit(dataset, epochs=1, verbose=0)


def test_vae_decode_is_a_stable_sigmoid():
    import warnings

    model = tiny_vae()
    last = [layer for layer in model.decoder.layers if hasattr(layer, "bias")][-1]
    last.bias.assign(np.full(last.bias.shape, -1e4, "float32"))  # logits of about −10,000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probabilities = model.decode(np.zeros((3, 2), "float32"))
    assert probabilities.min() >= 0 and probabilities.max() < 1e-30


def test_compile_makes_the_slots_so_the_first_fit_traces_train_step_once(count_traces):
    model = tiny_gan()
    assert model.d_optimizer.built and model.g_optimizer.built
    traces = count_traces(model)
    model.fit(np.random.default_rng(0).normal(size=(32, 2)).astype("float32"), epochs=2, batch_size=16, verbose=0)
    assert len(traces) == 1  # a step that creates optimizer slots is traced twice
