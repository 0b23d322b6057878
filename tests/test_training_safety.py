"""Long runs are safe: training resumes where it stopped, and NaN losses stop it with a clear message."""

import time

import numpy as np
import pytest

from gan_lessons import config, networks
from gan_lessons.callbacks import ResumableTraining, StopOnNonFinite, TimeBudget
from gan_lessons.config import keras
from gan_lessons.models import GAN, VAE

POINTS = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
PIXELS = np.random.default_rng(1).uniform(size=(32, 28, 28, 1)).astype("float32")


def tiny_gan(hidden=8):
    config.seed_everything(0)
    model = GAN(networks.mlp_generator(2, 2, (hidden,)), networks.mlp_discriminator(2, (hidden,)), ema=0.9, seed=0)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=keras.optimizers.Adam(1e-2))
    return model, POINTS


def tiny_vae():
    config.seed_everything(0)
    decoder = networks.dense_decoder(2, hidden=(8,), output_activation=None)
    model = VAE(networks.gaussian_encoder(2, hidden=(8,)), decoder, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model, PIXELS


class Crash(keras.callbacks.Callback):
    """Fail after the second epoch, as a killed kernel would."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("simulated crash")


@pytest.mark.parametrize("build", [tiny_gan, tiny_vae], ids=["gan (two optimizers, EMA)", "vae"])
def test_an_interrupted_fit_resumes_to_the_same_state(build, tmp_path):
    fit = {"epochs": 4, "batch_size": 16, "shuffle": False, "verbose": 0}
    straight, data = build()
    straight.fit(data, **fit)

    interrupted, _ = build()
    with pytest.raises(RuntimeError, match="simulated crash"):
        interrupted.fit(data, callbacks=[ResumableTraining(tmp_path), Crash()], **fit)
    # a kill after the next epoch's weights were written but before its state.json: ignored on resume
    (tmp_path / ResumableTraining.WEIGHTS.format(3)).write_bytes(b"half-written")
    resumed, _ = build()  # a fresh process would rebuild the model like this
    history = resumed.fit(data, callbacks=[ResumableTraining(tmp_path)], **fit).history
    assert len(next(iter(history.values()))) == 2  # epochs 3 and 4 only
    assert not any(tmp_path.iterdir())  # a finished fit leaves nothing to resume
    numpy = keras.ops.convert_to_numpy
    for a, b in zip(straight.weights, resumed.weights):
        np.testing.assert_allclose(numpy(a), numpy(b), atol=1e-6, err_msg=a.path)
    optimizers = ["d_optimizer", "g_optimizer"] if isinstance(straight, GAN) else ["optimizer"]
    for name in optimizers:
        for a, b in zip(getattr(straight, name).variables, getattr(resumed, name).variables):
            np.testing.assert_allclose(numpy(a), numpy(b), atol=1e-6)


def test_a_mismatched_or_damaged_state_gives_a_clear_error(tmp_path):
    model, data = tiny_gan()
    with pytest.raises(RuntimeError, match="simulated crash"):
        model.fit(data, epochs=3, batch_size=16, verbose=0, callbacks=[ResumableTraining(tmp_path), Crash()])
    wider, _ = tiny_gan(hidden=16)
    with pytest.raises(ValueError, match="different model"):
        wider.fit(data, epochs=3, batch_size=16, verbose=0, callbacks=[ResumableTraining(tmp_path)])
    same, _ = tiny_gan()
    with pytest.raises(ValueError, match="at epoch 2, but fit was asked for 2 epochs"):  # not a silent no-op
        same.fit(data, epochs=2, batch_size=16, verbose=0, callbacks=[ResumableTraining(tmp_path)])
    (tmp_path / ResumableTraining.WEIGHTS.format(2)).write_bytes(b"not an HDF5 file")  # the file state.json names
    with pytest.raises(ValueError, match="damaged or incomplete"):
        same.fit(data, epochs=3, batch_size=16, verbose=0, callbacks=[ResumableTraining(tmp_path)])
    (tmp_path / ResumableTraining.METADATA).write_text("{")
    with pytest.raises(ValueError, match="unreadable"):
        same.fit(data, epochs=3, batch_size=16, verbose=0, callbacks=[ResumableTraining(tmp_path)])


def test_a_nan_loss_stops_training_and_names_the_term():
    model, data = tiny_gan()
    broken = data.copy()
    broken[5] = np.nan
    with pytest.raises(FloatingPointError, match=r"batch 0 of epoch 0: d_loss = nan"):
        model.fit(broken, epochs=3, batch_size=16, shuffle=False, verbose=0, callbacks=[StopOnNonFinite()])


def test_a_time_budget_stops_after_the_epoch_that_spends_it():
    model, data = tiny_gan()
    budget = TimeBudget(seconds=1e-9)  # spent by the first epoch
    history = model.fit(data, epochs=5, batch_size=16, verbose=0, callbacks=[budget]).history
    assert len(history["d_loss"]) == 1 and budget.epochs_run == 1
    assert len(budget.epoch_seconds) == 1 and 0 < budget.epoch_seconds[0] <= time.perf_counter() - budget.start
    generous = TimeBudget(seconds=3600, label="tiny GAN")  # the progress line is shown only in a notebook
    assert len(model.fit(data, epochs=3, batch_size=16, verbose=0, callbacks=[generous]).history["d_loss"]) == 3
    with pytest.raises(ValueError, match="seconds"):
        TimeBudget(0)


def test_the_random_streams_saved_are_every_seed_generator_of_the_model():
    """The public route (variables that are not weights) finds exactly the SeedGenerator states that
    Keras' private layer walk finds; if Keras changes either, this fails loudly."""
    model, _ = tiny_gan()
    callback = ResumableTraining("unused")
    callback.set_model(model)
    private = [sg.state for layer in model._flatten_layers() for sg in layer._seed_generators]
    assert sorted(v.path for v in callback._random_streams()) == sorted(v.path for v in private)
    assert callback._random_streams()


def test_start_fit_at_is_what_keras_backup_and_restore_does():
    import inspect

    from gan_lessons.callbacks import start_fit_at

    assert "self.model._initial_epoch = " in inspect.getsource(keras.callbacks.BackupAndRestore)

    class StartAtTwo(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            start_fit_at(self.model, 2)

    model, points = tiny_gan()
    seen = []
    trace = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
    model.fit(points, epochs=4, batch_size=16, verbose=0, callbacks=[StartAtTwo(), trace])
    assert seen == [2, 3]
