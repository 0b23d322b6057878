"""Callbacks: sample grids that draw inside the notebook while ``fit`` runs, and KL annealing."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from gan_lessons.config import keras
from gan_lessons.plotting import show_rows


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
