"""The lessons' recipes: each builds, trains a step, and yields samples and reconstructions in
the shapes and ranges lesson 10 and the benchmark measure; bad data gets a clear error."""

import numpy as np
import pytest

from gan_lessons import callbacks, config, data, recipes

RAW_DIGITS = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
SINES = data.sine_waves(64, seed=0).x


@pytest.mark.parametrize("key", list(recipes.DIGIT_RECIPES))
def test_every_digit_recipe_trains_and_generates_unit_digits(key):
    recipe = recipes.DIGIT_RECIPES[key](RAW_DIGITS, seed=0)
    assert recipe.examples == len(RAW_DIGITS)
    logs = recipe.model.fit(recipe.train, epochs=1, verbose=0).history
    assert all(np.isfinite(values[-1]) for values in logs.values())
    samples = recipes.generated_digits(recipe, 5, seed=1)
    assert samples.shape == (5, 28, 28, 1) and samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_allclose(samples, recipes.generated_digits(recipe, 5, seed=1))  # seeded
    if key in ("autoencoder", "vae", "vae_gan"):
        reconstructions = recipes.reconstructed_digits(recipe, RAW_DIGITS[:4])
        assert reconstructions.shape == (4, 28, 28, 1) and 0 <= reconstructions.min() <= reconstructions.max() <= 1


def test_the_autoencoder_samples_from_a_gaussian_over_its_codes():
    recipe = recipes.autoencoder(RAW_DIGITS, seed=0)
    codes = recipe.model.encode(recipe.x)
    many = recipe.model.encode(recipes.generated_digits(recipe, 400, seed=0))
    # re-encoded samples sit where the training codes are, not around the origin
    assert np.linalg.norm(many.mean(0) - codes.mean(0)) < np.linalg.norm(codes.mean(0)) + 1e-6


@pytest.mark.parametrize("key", list(recipes.SEQUENCE_RECIPES))
def test_every_sequence_recipe_trains_and_generates_sequences(key):
    recipe = recipes.SEQUENCE_RECIPES[key](SINES, seed=0)
    recipe.model.fit(recipe.train, epochs=1, verbose=0)
    assert recipes.generated_sequences(recipe, 3, seed=0).shape == (3, 30, 1)


def test_the_adversarial_r_vae_starts_from_a_trained_r_vae_and_refuses_another_shape():
    rvae = recipes.sine_recurrent_vae(SINES, seed=0)
    rvae.model.fit(rvae.train, epochs=1, verbose=0)
    fusion = recipes.adversarial_recurrent_vae(SINES, seed=1, start_from=rvae.model).model
    for mine, theirs in ((fusion.encoder, rvae.model.encoder), (fusion.decoder, rvae.model.decoder)):
        for a, b in zip(mine.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(a, b)
    assert fusion.encoder is not rvae.model.encoder  # copied, not shared: training one leaves the other
    longer = recipes.sine_recurrent_vae(np.concatenate([SINES, SINES], axis=2), seed=0)
    with pytest.raises(ValueError, match="start_from needs an R-VAE"):
        recipes.adversarial_recurrent_vae(SINES, start_from=longer.model)


def test_start_as_recurrent_vae_trains_the_r_vae_the_fusion_starts_from():
    fusion = recipes.adversarial_recurrent_vae(SINES, seed=1)
    assert recipes.start_as_recurrent_vae(fusion, 1e-9, seed=0) == 1  # the budget ends with the first epoch
    same = recipes.sine_recurrent_vae(SINES, seed=0)
    same.model.fit(same.train, epochs=1, verbose=0)  # the R-VAE it should have trained
    for mine, theirs in ((fusion.model.encoder, same.model.encoder), (fusion.model.decoder, same.model.decoder)):
        for a, b in zip(mine.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    with pytest.raises(TypeError, match="starts an adversarial R-VAE recipe, not a LSTMGAN"):
        recipes.start_as_recurrent_vae(recipes.lstm_gan(SINES), 1.0)


def test_compile_options_reach_the_model():
    assert recipes.vae(RAW_DIGITS, steps_per_execution=5).model.steps_per_execution == 5


def test_recipes_reject_data_they_cannot_use():
    with pytest.raises(ValueError, match="raw integer pixels"):
        recipes.vae(RAW_DIGITS / 255.0)
    with pytest.raises(ValueError, match=r"\(N, 28, 28"):
        recipes.dcgan(np.zeros((4, 32, 32), np.uint8))
    with pytest.raises(ValueError, match=r"sequences of shape \(N, steps, features\)"):
        recipes.lstm_gan(SINES[..., 0])
    with pytest.raises(TypeError, match="does not reconstruct"):
        recipes.reconstructed_digits(recipes.dcgan(RAW_DIGITS), RAW_DIGITS[:2])


def test_long_runs_keep_their_state_per_mode_under_the_chosen_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(config.STATE_VARIABLE, str(tmp_path))
    monkeypatch.setenv(config.MODE_VARIABLE, "fast")
    resumable, stop, progress = callbacks.long_run("03_dcgan")
    assert resumable.directory == tmp_path / "fast" / "03_dcgan"  # a test run never touches a full run's state
    assert isinstance(stop, callbacks.StopOnNonFinite) and isinstance(progress, callbacks.Progress)
    monkeypatch.setenv(config.MODE_VARIABLE, "full")
    assert config.training_state_dir("03_dcgan") == tmp_path / "full" / "03_dcgan"
    monkeypatch.delenv(config.STATE_VARIABLE)
    assert config.training_state_dir("x").parts[-4:] == (".cache", "gan_lessons", "full", "x")
