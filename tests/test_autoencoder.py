import numpy as np
import pytest

from gan_lessons import config, data, networks
from gan_lessons.config import keras
from gan_lessons.models import Autoencoder


def tiny_autoencoder(noise_stddev: float = 0.0, compile: bool = True) -> Autoencoder:
    config.seed_everything(0)
    model = Autoencoder(
        networks.dense_encoder(4, hidden=(16,)), networks.dense_decoder(4, hidden=(16,)),
        noise_stddev=noise_stddev, seed=1,
    )
    if compile:
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


@pytest.fixture(scope="module")
def batch():
    digits = data.load_digits("bundled", n_train=32, verbose=False)
    return data.scale_pixels(digits.x_train)


def weights(variables):
    return [v.numpy() for v in variables]


def test_train_step_lowers_the_loss(batch):
    model = tiny_autoencoder()
    before = model.evaluate(batch, verbose=0)
    model.fit(batch, epochs=20, batch_size=32, verbose=0)
    assert model.evaluate(batch, verbose=0) < 0.5 * before


def test_loss_is_mean_squared_error_per_pixel(batch):
    model = tiny_autoencoder()
    expected = np.mean((model.reconstruct(batch) - batch) ** 2)
    assert model.evaluate(batch, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_train_step_updates_only_trainable_variables(batch):
    model = tiny_autoencoder()
    model.encoder.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    frozen, learning = weights(model.encoder.weights), weights(model.decoder.weights)
    model.fit(batch, epochs=1, batch_size=32, verbose=0)
    for old, new in zip(frozen, weights(model.encoder.weights)):
        np.testing.assert_array_equal(old, new)
    assert all(not np.array_equal(old, new) for old, new in zip(learning, weights(model.decoder.weights)))


def test_test_step_leaves_weights_unchanged(batch):
    model = tiny_autoencoder(noise_stddev=0.2)
    model.fit(batch, epochs=1, verbose=0)
    before = weights(model.weights)
    model.evaluate(batch, verbose=0)
    for old, new in zip(before, weights(model.weights)):
        np.testing.assert_array_equal(old, new)


def test_denoising_noise_differs_between_calls(batch):
    model = tiny_autoencoder(noise_stddev=0.5)
    first, second = model.corrupt(batch).numpy(), model.corrupt(batch).numpy()
    assert not np.allclose(first, second)
    assert np.std(first - batch) == pytest.approx(0.5, rel=0.05)


def test_metrics_are_epoch_means_not_last_batch(batch):
    model = tiny_autoencoder()
    history = model.fit(batch, epochs=1, batch_size=8, verbose=0, shuffle=False)
    assert history.history["loss"][0] == pytest.approx(float(model.loss_tracker.result()), rel=1e-6)
    assert int(model.loss_tracker.count) == 4


def test_save_and_load_round_trip(batch, tmp_path):
    model = tiny_autoencoder(noise_stddev=0.1)
    model.fit(batch, epochs=2, verbose=0)
    model.save(tmp_path / "ae.keras")
    restored = keras.saving.load_model(tmp_path / "ae.keras")
    assert isinstance(restored, Autoencoder) and restored.noise_stddev == 0.1
    assert len(restored.optimizer.variables) == len(model.optimizer.variables)
    for saved, loaded in zip(model.optimizer.variables, restored.optimizer.variables):
        np.testing.assert_array_equal(saved.numpy(), loaded.numpy())
    np.testing.assert_array_equal(model.reconstruct(batch), restored.reconstruct(batch))
    model.save_weights(tmp_path / "ae.weights.h5")
    fresh = tiny_autoencoder(noise_stddev=0.1, compile=False)
    fresh.load_weights(tmp_path / "ae.weights.h5")
    np.testing.assert_array_equal(model.reconstruct(batch), fresh.reconstruct(batch))


def test_fit_before_compile_is_a_clear_error(batch):
    model = Autoencoder(networks.dense_encoder(2, hidden=()), networks.dense_decoder(2, hidden=()))
    with pytest.raises(ValueError, match="compile"):
        model.fit(batch, epochs=1, verbose=0)


def test_raw_pixels_are_a_clear_error():
    model = tiny_autoencoder()
    raw = np.full((8, 28, 28, 1), 255.0, np.float32)
    with pytest.raises(Exception, match="scaled to"):
        model.fit(raw, epochs=1, verbose=0)
    with pytest.raises(Exception, match="scaled to"):
        model.evaluate(raw, verbose=0)


def test_mismatched_code_sizes_are_rejected():
    with pytest.raises(ValueError, match="codes of size 3"):
        Autoencoder(networks.dense_encoder(3), networks.dense_decoder(4))


def test_wrong_image_shape_is_rejected(batch):
    model = tiny_autoencoder()
    with pytest.raises(ValueError):
        model.fit(np.zeros((8, 32, 32, 1), np.float32), epochs=1, verbose=0)


def test_conv_networks_map_images_to_codes_and_back():
    encoder, decoder = networks.conv_encoder(5), networks.conv_decoder(5)
    codes = encoder(np.zeros((2, 28, 28, 1), np.float32))
    assert tuple(codes.shape) == (2, 5)
    images = np.array(decoder(codes))
    assert images.shape == (2, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
