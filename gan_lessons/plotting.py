"""Figures the lessons share: image grids, rows to compare, sequences, training curves, latent scatters.

Every function returns the matplotlib ``Figure`` it drew, titled and labelled, sized to stay a
small PNG when stored in a notebook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from gan_lessons.data import unscale_pixels

plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80, "axes.spines.top": False, "axes.spines.right": False})


def show_text(text: str, markdown: str | None = None, metadata: dict | None = None, handle=None):
    """Show a line (and its Markdown form) in a notebook, replacing the output of ``handle`` when
    given; return the display handle, or None outside IPython (then the text is not shown)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with JupyterLab
        return None
    if get_ipython() is None:
        return None
    bundle = {"text/plain": text} | ({"text/markdown": markdown} if markdown is not None else {})
    if handle is not None:
        handle.update(bundle, raw=True, metadata=metadata or {})
        return handle
    return display(bundle, raw=True, metadata=metadata or {}, display_id=True)


def _as_display_images(images, value_range: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"expected a batch of grey images (N, H, W[, 1]), got shape {images.shape}")
    if np.issubdtype(images.dtype, np.integer):
        return images.astype(np.float32) / 255.0
    return unscale_pixels(images, value_range)


GAP = 2  # white pixels between the cells of a mosaic
CAPTION_GAP = 9  # white pixels above each row of captioned cells


def _mosaic(pictures: np.ndarray, ncols: int, row_gap: int = GAP) -> np.ndarray:
    """The pictures tiled row by row into one image, ``GAP`` white pixels apart (``row_gap`` between
    rows); empty cells white. One image in one axes draws far faster than one axes per picture."""
    n, height, width = pictures.shape
    nrows = -(-n // ncols)
    mosaic = np.ones((nrows * (height + row_gap) - row_gap, ncols * (width + GAP) - GAP), np.float32)
    for i, picture in enumerate(pictures):
        top, left = (i // ncols) * (height + row_gap), (i % ncols) * (width + GAP)
        mosaic[top : top + height, left : left + width] = picture
    return mosaic


def _bare(ax: plt.Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def show_images(
    images,
    *,
    title: str,
    ncols: int = 10,
    labels: Sequence | None = None,
    value_range: str = "unit",
    cell_inches: float = 0.8,
) -> plt.Figure:
    """A grid of grey images (uint8 0–255, or floats in ``value_range``), optionally captioned."""
    pictures = _as_display_images(images, value_range)
    ncols = min(ncols, len(pictures))
    height, width = pictures.shape[1:]
    row_gap = GAP if labels is None else CAPTION_GAP
    mosaic = _mosaic(pictures, ncols, row_gap)
    if labels is not None:  # room for the first row's captions too
        mosaic = np.concatenate([np.ones((row_gap, mosaic.shape[1]), np.float32), mosaic])
    inches = ncols * cell_inches
    fig, ax = plt.subplots(figsize=(inches, inches * mosaic.shape[0] / mosaic.shape[1] + 0.4))
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1)
    _bare(ax)
    for i, label in enumerate([] if labels is None else labels[: len(pictures)]):
        ax.text((i % ncols) * (width + GAP) + width / 2, (i // ncols) * (height + row_gap) + row_gap - 1, str(label),
                ha="center", va="bottom", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(pad=0.3)
    return fig


def show_rows(
    rows: Mapping[str, np.ndarray], *, title: str, value_range: str = "unit", cell_inches: float = 0.8
) -> plt.Figure:
    """One row per named batch (e.g. originals above reconstructions), same column = same example."""
    batches = {name: _as_display_images(images, value_range) for name, images in rows.items()}
    ncols = max(len(b) for b in batches.values())
    label_inches = 0.2 + 0.075 * max(len(name) for name in batches)
    title_inches, row_gap_inches = 0.35, 0.05
    mosaics = [_mosaic(pictures, ncols) for pictures in batches.values()]  # short rows end in white cells
    row_width = ncols * cell_inches
    row_heights = [row_width * m.shape[0] / m.shape[1] for m in mosaics]
    width = label_inches + row_width + 0.1
    height = title_inches + sum(row_heights) + row_gap_inches * len(mosaics)
    fig = plt.figure(figsize=(width, height))
    top = height - title_inches
    for name, mosaic, row_height in zip(batches, mosaics, row_heights):  # axes placed in inches
        top -= row_height
        ax = fig.add_axes((label_inches / width, top / height, row_width / width, row_height / height))
        ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1)
        _bare(ax)
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
        top -= row_gap_inches
    fig.suptitle(title, fontsize=10, y=1 - 0.08 / height, va="top")
    return fig


def show_sequences(
    rows: Mapping[str, np.ndarray], *, title: str, ncols: int = 6, ylim: tuple[float, float] = (-1.05, 1.05)
) -> plt.Figure:
    """One row of small line plots per named batch of 1-feature sequences (N, steps, 1); same
    column = same example, so reconstructions sit under their originals."""
    batches = {name: np.asarray(values).reshape(len(values), -1) for name, values in rows.items()}
    fig, axes = plt.subplots(
        len(batches), ncols, figsize=(1.5 * ncols + 1.0, 1.1 * len(batches) + 0.5), sharex=True, sharey=True,
        squeeze=False,
    )
    for ax_row, (name, sequences) in zip(axes, batches.items()):
        for ax, sequence in zip(ax_row, sequences):
            ax.plot(sequence, lw=1.2)
            ax.axhline(0, color="lightgrey", lw=0.6, zorder=0)
        for ax in ax_row:
            ax.set(ylim=ylim, xticks=[], yticks=[])
        ax_row[0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(pad=0.3)
    return fig


def plot_history(
    history, *, title: str, keys: Sequence[str] | None = None, ylabel: str = "loss", logy: bool = False
) -> plt.Figure:
    """Training curves from a Keras ``History`` (or its ``.history`` dict), one line per key."""
    logs = history.history if hasattr(history, "history") else dict(history)
    keys = list(keys) if keys is not None else list(logs)
    missing = [k for k in keys if k not in logs]
    if missing:
        raise KeyError(f"not in the history: {missing}; it holds {sorted(logs)}")
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for key in keys:
        values = logs[key]
        ax.plot(np.arange(1, len(values) + 1), values, label=key, marker="." if len(values) < 30 else None)
    ax.set(title=title, xlabel="epoch", ylabel=ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def latent_scatter(codes, labels, *, title: str, max_points: int = 2000) -> plt.Figure:
    """2-D codes as points coloured by digit class: does the code space separate the classes?"""
    codes, labels = np.asarray(codes), np.asarray(labels)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"latent_scatter draws 2-D codes, got shape {codes.shape}")
    if len(codes) != len(labels):
        raise ValueError(f"{len(codes)} codes but {len(labels)} labels")
    codes, labels = codes[:max_points], labels[:max_points]
    fig, ax = plt.subplots(figsize=(5, 4.2))
    points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, s=6, alpha=0.8)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    ax.set(title=title, xlabel="$z_1$", ylabel="$z_2$")
    fig.tight_layout()
    return fig


def show_manifold(decode, x_values, y_values, *, title: str, value_range: str = "unit", ax=None) -> plt.Figure:
    """Decode every code of a 2-D grid and tile the images where the codes lie in the plane."""
    x_values, y_values = np.asarray(x_values, np.float32), np.asarray(y_values, np.float32)
    grid = np.stack(np.meshgrid(x_values, y_values[::-1]), -1).reshape(-1, 2)
    images = _as_display_images(decode(grid), value_range)
    rows, cols = len(y_values), len(x_values)
    tiles = images.reshape(rows, cols, 28, 28).transpose(0, 2, 1, 3).reshape(rows * 28, cols * 28)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(tiles, cmap="gray", vmin=0, vmax=1,
              extent=(x_values[0], x_values[-1], y_values[0], y_values[-1]), aspect="auto")
    ax.set(title=title, xlabel="$z_1$", ylabel="$z_2$")
    ax.figure.tight_layout()
    return ax.figure
