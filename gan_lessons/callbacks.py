"""Callbacks: sample grids that draw inside the notebook while ``fit`` runs, a progress line, KL
annealing, resumable training, a stop on NaN losses, time budgets and a trace of measures during training."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from gan_lessons import config, data
from gan_lessons.config import keras
from gan_lessons.plotting import show_rows, show_text


class SampleGrid(keras.callbacks.Callback):
    """Every ``every`` epochs, pass the same fixed inputs through ``model.<method>`` and redraw.

    The figure holds one row per snapshot, so a student watches the same noise vectors (or the
    same test digits) turn into better images as training goes on; ``show_inputs`` adds the inputs
    as a first row (for reconstructions). In a notebook the figure is
    updated in place; elsewhere the snapshots are only kept in ``self.snapshots``.
    """

    def __init__(
        self,
        inputs,
        *,
        method: str = "decode",
        every: int = 1,
        max_rows: int = 6,
        title: str = "Samples from fixed inputs during training",
        value_range: str = "unit",
        show_inputs: bool = False,
    ):
        super().__init__()
        if every < 1 or max_rows < 1:
            raise ValueError("every and max_rows must be at least 1")
        self.inputs = np.asarray(inputs, dtype=np.float32)
        self.method = method
        self.every = every
        self.max_rows = max_rows
        self.title = title
        self.value_range = value_range
        self.show_inputs = show_inputs
        self.snapshots: list[tuple[int, np.ndarray]] = []
        self._display = None
        self._last_epoch = 0

    @classmethod
    def from_noise(cls, latent_dim: int, n: int = 10, *, seed: int = 0, **kwargs) -> SampleGrid:
        """A grid of ``n`` fixed standard-normal codes, decoded after each chosen epoch."""
        noise = np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)
        return cls(noise, **kwargs)

    def on_train_begin(self, logs=None):
        if not callable(getattr(self.model, self.method, None)):
            raise AttributeError(f"SampleGrid needs model.{self.method}(inputs); {type(self.model).__name__} has none")

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch + 1
        if self._last_epoch % self.every == 0:
            self._snapshot()

    def on_train_end(self, logs=None):
        """Always show where training ended (it may stop early, e.g. on a time budget)."""
        if self._last_epoch and (not self.snapshots or self.snapshots[-1][0] != self._last_epoch):
            self._snapshot()

    def _snapshot(self) -> None:
        images = np.asarray(getattr(self.model, self.method)(self.inputs))
        self.snapshots.append((self._last_epoch, images))
        self._draw()

    def _draw(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        rows = {"input": self.inputs} if self.show_inputs else {}
        rows.update({f"epoch {epoch}": images for epoch, images in self.snapshots[-self.max_rows :]})
        fig = show_rows(rows, title=self.title, value_range=self.value_range)
        if self._display is None:
            self._display = display(fig, display_id=True)
        else:
            self._display.update(fig)
        plt.close(fig)


class KLAnnealing(keras.callbacks.Callback):
    """Raise a ``RecurrentVAE``'s KL weight linearly from ``start`` to 1 over ``steps`` batches."""

    def __init__(self, steps: int, start: float = 0.0):
        super().__init__()
        if steps < 1 or not 0.0 <= start <= 1.0:
            raise ValueError("steps must be >= 1 and start in [0, 1]")
        self.steps, self.start, self.seen = steps, start, 0

    def on_train_batch_begin(self, batch, logs=None):
        self.model.kl_weight.assign(min(1.0, self.start + (1.0 - self.start) * self.seen / self.steps))
        self.seen += 1


class ResumableTraining(keras.callbacks.Callback):
    """Keep the whole training state on disk after every epoch, and continue from it when ``fit``
    starts again (after a crash or a kernel restart): at most one epoch of work is lost.

    The state is every weight of the model (sub-networks and weight averages), every optimizer's
    slots (the GAN's two, the VAE-GAN's three) and the position of every random-number stream:
    each epoch's weights in their own file, then ``directory/state.json`` with the epoch, the streams
    and that file's name. Each is written to a temporary file and renamed, the json last: a kill at
    any moment leaves either the previous epoch's complete state or the new one, never a mix.
    Call ``fit`` with the same ``epochs`` as before; it starts at the saved epoch. A ``fit`` that
    ends normally deletes the state, so the next ``fit`` starts afresh.
    """

    WEIGHTS, METADATA = "state.epoch{}.weights.h5", "state.json"

    def __init__(self, directory: str | os.PathLike):
        super().__init__()
        self.directory = Path(directory)

    def _signature(self) -> str:
        """The model's class and the shapes of all its weights: what a saved state must match."""
        shapes = [list(w.shape) for w in self.model.weights]
        return f"{type(self.model).__name__}:{json.dumps(shapes)}"

    def _random_streams(self) -> list:
        """The states of the model's random-number streams (its SeedGenerators): the variables of the
        model that are not weights (``save_weights`` leaves them out)."""
        weights = {id(w) for w in self.model.weights}
        return [v for v in self.model.non_trainable_variables if id(v) not in weights]

    def on_train_begin(self, logs=None):
        metadata = self.directory / self.METADATA
        if not metadata.exists():
            return
        problem = f"the training state in {self.directory} cannot be resumed"
        try:
            saved = json.loads(metadata.read_text())
            epoch, signature, streams = saved["epoch"], saved["signature"], saved["random_streams"]
            weights = self.directory / saved["weights"]
        except (ValueError, KeyError) as error:
            raise ValueError(
                f"{problem}: {metadata.name} is unreadable ({error}); delete the folder to start afresh"
            ) from error
        if signature != self._signature():
            raise ValueError(f"{problem}: it was saved from a different model (class or weight shapes differ); "
                             "delete the folder or pass another directory")
        if epoch >= self.params.get("epochs", epoch + 1):
            raise ValueError(f"{problem}: it is at epoch {epoch}, but fit was asked for {self.params['epochs']} epochs "
                             "in all; ask for more epochs, or delete the folder to start afresh")
        if hasattr(self.model, "build_optimizers"):
            self.model.build_optimizers()
        if self.model.optimizer is not None and not self.model.optimizer.built:
            targets = [] if hasattr(self.model, "build_optimizers") else self.model.trainable_variables
            self.model.optimizer.build(targets)
        try:
            self.model.load_weights(weights)
        except Exception as error:  # h5py and Keras raise many kinds for a damaged file
            raise ValueError(f"{problem}: {weights.name} is damaged or incomplete ({type(error).__name__}: {error}); "
                             "delete the folder to start afresh") from error
        for state, value in zip(self._random_streams(), streams):
            state.assign(np.asarray(value, dtype=state.dtype))
        start_fit_at(self.model, epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        name = self.WEIGHTS.format(epoch + 1)
        partial = self.directory / f"partial.{name}"
        self.model.save_weights(partial, overwrite=True)
        os.replace(partial, self.directory / name)
        streams = [np.asarray(state).tolist() for state in self._random_streams()]
        partial = self.directory / f"partial.{self.METADATA}"
        partial.write_text(json.dumps({"epoch": epoch + 1, "signature": self._signature(), "random_streams": streams,
                                       "weights": name}))
        os.replace(partial, self.directory / self.METADATA)  # the commit point: the state is now this epoch's
        self._remove_weights(keep=name)

    def on_train_end(self, logs=None):
        (self.directory / self.METADATA).unlink(missing_ok=True)
        self._remove_weights()

    def _remove_weights(self, keep: str | None = None) -> None:
        for path in self.directory.glob(self.WEIGHTS.format("*")):
            if path.name != keep:
                path.unlink(missing_ok=True)


def start_fit_at(model: keras.Model, epoch: int) -> None:
    """Make the ``fit`` that is starting continue at ``epoch``. Keras has no public route for this:
    it is what ``keras.callbacks.BackupAndRestore`` does (a private attribute that ``fit`` reads after
    ``on_train_begin``); ``tests/test_training_safety.py`` fails loudly if Keras changes it."""
    model._initial_epoch = epoch


class StopOnNonFinite(keras.callbacks.Callback):
    """Stop ``fit`` at the first batch whose logged losses are NaN or infinite, naming the terms:
    a diverged GAN or VAE otherwise trains on for minutes and leaves NaN weights behind."""

    def on_train_batch_end(self, batch, logs=None):
        bad = {name: value for name, value in (logs or {}).items() if not np.isfinite(float(value))}
        if bad:
            terms = ", ".join(f"{name} = {value}" for name, value in bad.items())
            raise FloatingPointError(f"training stopped at batch {batch} of epoch {self._epoch}: {terms} "
                                     "(lower the learning rate, or check the data's range)")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


class Progress(keras.callbacks.Callback):
    """One line, rewritten after every epoch, saying how far a long ``fit`` is and how long is left:
    ``label: epoch 12/40 · 31 s elapsed · about 72 s left · d_loss 0.61``. In a notebook the line
    is updated in place, so the stored output stays one line; elsewhere nothing is printed.

    ``total`` counts epochs over several ``fit`` calls (e.g. a loop of short fits); by default it is
    the ``epochs`` of the current ``fit``.
    """

    def __init__(self, label: str = "training", total: int | None = None, show: tuple[str, ...] = ()):
        super().__init__()
        if total is not None and total < 1:
            raise ValueError(f"total must be at least 1, got {total}")
        self.label, self.total, self.show = label, total, tuple(show)
        self.run, self.done, self.seconds, self._display = 0, 0, 0.0, None

    def on_train_begin(self, logs=None):
        if not self.total or self.run == 0:  # over several fits, the time between them counts too
            self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self.seconds += now - self._start
        self._start = now
        self.run += 1  # epochs trained while watched (a resumed fit starts past epoch 0)
        self.done = self.run if self.total else epoch + 1
        total = self.total or self.params.get("epochs") or self.done
        left = self.seconds / self.run * max(total - self.done, 0)
        values = " · ".join(f"{name} {float(logs[name]):.3g}" for name in self.show if logs and name in logs)
        line = f"{self.label}: epoch {self.done}/{total} · {self.seconds:.0f} s elapsed"
        line += f" · about {left:.0f} s left" if self.done < total else " · done"
        self._write(line + (f" · {values}" if values else ""))

    def _write(self, line: str) -> None:
        self._display = show_text(line, handle=self._display)


class PipelineAtEpoch(keras.callbacks.Callback):
    """Before every epoch, put a ``data.make_dataset`` pipeline at that epoch: a resumed ``fit`` then
    draws the shuffle order and pixels the interrupted one would have drawn, not epoch 0's again."""

    def __init__(self, dataset):
        super().__init__()
        self.dataset = dataset

    def on_epoch_begin(self, epoch, logs=None):
        data.set_epoch(self.dataset, epoch)


def long_run(name: str, dataset=None) -> list[keras.callbacks.Callback]:
    """The callbacks every long lesson run gets: resume after a kernel restart from the last
    finished epoch (state in ``config.training_state_dir(name)``), stop at the first NaN loss, and
    a progress line named ``name`` (elapsed and remaining time) that is updated in place. Give it
    the run's ``data.make_dataset`` pipeline, and a resumed run is bit-for-bit the uninterrupted one."""
    at_epoch = [] if dataset is None else [PipelineAtEpoch(dataset)]
    return [ResumableTraining(config.training_state_dir(name)), *at_epoch, StopOnNonFinite(), Progress(name)]


class TimeBudget(keras.callbacks.Callback):
    """Stop ``fit`` at the end of the first epoch that finishes after ``seconds`` of training: models
    compared under the same budget (lesson 10, the benchmark) each get the epochs they can afford.
    With a ``label``, one line updated in place after every epoch says how far it is (§8 of the design).
    ``epoch_seconds`` keeps each epoch's duration: the first of a new model includes its graph tracing."""

    def __init__(self, seconds: float, label: str | None = None):
        super().__init__()
        if seconds <= 0:
            raise ValueError(f"seconds must be > 0, got {seconds}")
        self.seconds, self.label, self._display = float(seconds), label, None

    def on_train_begin(self, logs=None):
        self.start, self.epochs_run, self.epoch_seconds = time.perf_counter(), 0, []

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_run += 1
        self.epoch_seconds.append(time.perf_counter() - self._epoch_start)
        spent = time.perf_counter() - self.start
        if spent >= self.seconds:
            self.model.stop_training = True
        if self.label is not None:
            self._display = show_text(f"{self.label}: epoch {self.epochs_run} · {spent:.0f} of "
                                      f"{self.seconds:.0f} s" + (" · done" if spent >= self.seconds else ""),
                                      handle=self._display)


class TrainingTrace(keras.callbacks.Callback):
    """Measure the model during training: every ``every`` epochs call ``measure(model)`` (a dict of
    numbers, e.g. FID and a critic's estimate) and keep a row with the epoch and the seconds of
    training so far (measuring time excluded). With ``seconds``, stop at the end of the first epoch
    past that much training once ``min_epochs`` ran, measuring that last epoch too. One progress
    line, updated in place, shows the latest row.
    """

    def __init__(self, measure: Callable[[keras.Model], dict], *, every: int = 1, seconds: float | None = None,
                 min_epochs: int = 1, label: str = "training"):
        super().__init__()
        if every < 1 or min_epochs < 1:
            raise ValueError("every and min_epochs must be at least 1")
        if seconds is not None and seconds <= 0:
            raise ValueError(f"seconds must be > 0, got {seconds}")
        self.measure, self.every, self.seconds, self.min_epochs, self.label = measure, every, seconds, min_epochs, label
        self.rows: list[dict] = []
        self.trained = 0.0
        self._display = None

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.trained += time.perf_counter() - self._start
        done = epoch + 1
        stop = self.seconds is not None and self.trained >= self.seconds and done >= self.min_epochs
        if stop or done % self.every == 0:
            row = {"epoch": done, "seconds": self.trained, **{k: float(v) for k, v in self.measure(self.model).items()}}
            self.rows.append(row)
            budget = f" of {self.seconds:.0f}" if self.seconds else ""
            values = " · ".join(f"{k} {v:.3g}" for k, v in row.items() if k not in ("epoch", "seconds"))
            self._display = show_text(f"{self.label}: epoch {done} · {self.trained:.0f}{budget} s of training · "
                                      f"{values}", handle=self._display)
        if stop:
            self.model.stop_training = True
        self._start = time.perf_counter()

    def column(self, name: str) -> np.ndarray:
        """One measure (or ``epoch``/``seconds``) over the recorded rows."""
        return np.array([row[name] for row in self.rows])
