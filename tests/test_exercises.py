"""The exercise checks accept right answers and name the mistake in wrong ones."""

import numpy as np
import pytest

from gan_lessons import exercises, losses, networks
from gan_lessons.config import keras, tf
from gan_lessons.models import Autoencoder

ops = keras.ops


class LineFit(keras.Model):
    """Lesson 00's model, with the exercise's tracker switched by class attributes."""

    track_in_test = True
    error = staticmethod(lambda e: ops.abs(e))
    report_batch_value = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_tracker = keras.metrics.Mean(name="mae")

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_tracker]

    def call(self, x, training=False):
        return self.dense(x)

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            error = y - self(x, training=True)
            loss = ops.mean(ops.square(error))
        self.optimizer.apply(tape.gradient(loss, self.trainable_variables), self.trainable_variables)
        self.loss_tracker.update_state(loss)
        self.mae_tracker.update_state(ops.mean(self.error(error)))
        logs = {m.name: m.result() for m in self.metrics}
        if self.report_batch_value:
            logs["mae"] = ops.mean(self.error(error))
        return logs

    def test_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        error = y - self(x, training=False)
        self.loss_tracker.update_state(ops.mean(ops.square(error)))
        batch_mae = ops.mean(self.error(error))
        if self.track_in_test:
            self.mae_tracker.update_state(batch_mae)
        logs = {m.name: m.result() for m in self.metrics if m.name == "loss" or self.track_in_test}
        if self.report_batch_value and self.track_in_test:
            logs["mae"] = batch_mae
        return logs


class NoTestTracking(LineFit):
    track_in_test = False


class BatchValue(LineFit):
    """Returns the batch's value under the name 'mae' without listing a tracker for it (Keras keeps a
    returned value only when it is not a tracker's name)."""

    report_batch_value = True

    @property
    def metrics(self):
        return [self.loss_tracker]


class SquaredError(LineFit):
    error = staticmethod(lambda e: ops.square(e))


class NoMAE(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1)

    def call(self, x, training=False):
        return self.dense(x)


def test_the_mae_tracker_check(capsys):
    assert exercises.check_mae_tracker(LineFit)
    assert "over all 64 examples" in capsys.readouterr().out
    for wrong, hint in [(NoTestTracking, "test_step too"), (BatchValue, "last batch"),
                        (SquaredError, "absolute (not squared)")]:
        assert not exercises.check_mae_tracker(wrong)
        assert hint in capsys.readouterr().out


def test_the_mae_tracker_check_names_a_missing_tracker(capsys):
    class Compiled(NoMAE):
        def compile(self, **kwargs):
            super().compile(loss="mse", **kwargs)

    assert not exercises.check_mae_tracker(Compiled)
    assert "add a tracker named 'mae'" in capsys.readouterr().out


def masking_autoencoder(rule):
    class Masking(Autoencoder):
        def corrupt(self, x):
            return rule(self, x)

    return Masking(networks.dense_encoder(2, hidden=(4,)), networks.dense_decoder(2, hidden=(4,)), seed=0)


def test_the_masking_check(capsys):
    right = masking_autoencoder(lambda self, x: ops.where(
        keras.random.uniform(ops.shape(x), seed=self.seed_generator) > 0.3, x, 0.0))
    assert exercises.check_masking_corruption(right)
    assert "new mask on every call" in capsys.readouterr().out
    wrong = {
        "the right way round": lambda self, x: ops.where(
            keras.random.uniform(ops.shape(x), seed=self.seed_generator) < 0.3, x, 0.0),
        "same mask": lambda self, x: ops.where(keras.random.uniform(ops.shape(x), seed=0) > 0.3, x, 0.0),
        "kept pixels changed": lambda self, x: x + 0.1 * keras.random.normal(ops.shape(x), seed=self.seed_generator),
    }
    for hint, rule in wrong.items():
        assert not exercises.check_masking_corruption(masking_autoencoder(rule))
        assert hint in capsys.readouterr().out


def monte_carlo_kl(mean, log_var, n=100_000, seed=0):
    z = mean + np.exp(0.5 * log_var) * np.random.default_rng(seed).standard_normal((n, 2))
    log_q = losses.gaussian_log_density(z, mean[None], log_var[None])
    log_p = losses.gaussian_log_density(z, np.zeros_like(z), np.zeros_like(z))
    return float(np.mean(ops.convert_to_numpy(log_q - log_p)))


def test_the_kl_check_accepts_a_monte_carlo_estimate_and_names_slips(capsys):
    mean, log_var = exercises.KL_EXERCISE_MEAN, exercises.KL_EXERCISE_LOG_VAR
    assert exercises.check_kl_estimate(monte_carlo_kl(mean, log_var))
    assert "within Monte Carlo error" in capsys.readouterr().out
    slips = {"sign is flipped": -monte_carlo_kl(mean, log_var),
             "first dimension only": 0.5 * (mean[0] ** 2 + np.exp(log_var[0]) - 1 - log_var[0]),
             "log σ² was used as log σ": monte_carlo_kl(mean, 2 * log_var),
             "check both log densities": 2.5}
    for hint, estimate in slips.items():
        assert not exercises.check_kl_estimate(estimate)
        assert hint in capsys.readouterr().out


def test_the_iwae_check(capsys):
    assert exercises.check_iwae_bounds({1: 94.4, 5: 91.0, 50: 88.7, 500: 87.5})
    assert "fall with k" in capsys.readouterr().out
    assert not exercises.check_iwae_bounds({1: -94.4, 5: -91.0})
    assert "report −L_k" in capsys.readouterr().out
    assert not exercises.check_iwae_bounds({1: 94.4, 5: 95.3})
    assert "grows from k = 1 to k = 5" in capsys.readouterr().out


@pytest.mark.parametrize("loss, hint", [
    (lambda r, f: losses.discriminator_loss(r, f, real_target=0.9), None),
    (lambda r, f: losses.binary_crossentropy_on_logits(0.9, r) + losses.binary_crossentropy_on_logits(0.1, f),
     "two-sided"),
    (lambda r, f: losses.discriminator_loss(r, f), "no smoothing"),
    (lambda r, f: losses.discriminator_loss(ops.sigmoid(r), ops.sigmoid(f), real_target=0.9), "no sigmoid of your own"),
    (lambda r, f: ops.mean(ops.square(r)) + ops.mean(ops.square(f)), "expected"),
])
def test_the_one_sided_smoothing_check(loss, hint, capsys):
    assert exercises.check_one_sided_smoothing(loss) == (hint is None)
    if hint:
        assert hint in capsys.readouterr().out
