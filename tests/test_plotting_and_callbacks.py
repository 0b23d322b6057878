import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from gan_lessons import networks, plotting
from gan_lessons.callbacks import SampleGrid
from gan_lessons.config import keras
from gan_lessons.models import Autoencoder


def test_show_images_draws_a_titled_grid():
    fig = plotting.show_images(np.zeros((12, 28, 28, 1), np.float32), title="zeros", ncols=5, labels=list(range(12)))
    (ax,) = fig.axes  # one mosaic: 3 rows of 5 cells, each row with room for its captions above
    assert fig._suptitle.get_text() == "zeros" and len(ax.images) == 1
    assert ax.images[0].get_array().shape == (3 * (28 + plotting.CAPTION_GAP), 5 * 28 + 4 * plotting.GAP)
    assert [t.get_text() for t in ax.texts] == [str(k) for k in range(12)]


def test_show_rows_and_value_ranges():
    fig = plotting.show_rows({"a": np.full((3, 28, 28), -1.0), "b": np.full((2, 28, 28), 1.0)}, title="t",
                             value_range="signed")
    assert [ax.get_ylabel() for ax in fig.axes] == ["a", "b"]
    first, last = (ax.images[0].get_array() for ax in fig.axes)
    assert first.shape == last.shape == (28, 3 * 28 + 2 * plotting.GAP)
    assert first[:, :28].max() == 0.0 and last.min() == 1.0  # −1 shows black, +1 white; the empty cell white
    with pytest.raises(ValueError, match="grey images"):
        plotting.show_images(np.zeros((2, 28, 28, 3)), title="colour")


def test_show_sequences_draws_one_row_per_batch():
    fig = plotting.show_sequences({"a": np.zeros((6, 30, 1)), "b": np.ones((4, 30, 1))}, title="t", ncols=5)
    assert len(fig.axes) == 10 and fig.axes[0].get_ylabel() == "a" and fig.axes[5].get_ylabel() == "b"
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[9].lines) == 0  # a curve and the zero line; empty cell
    matplotlib.pyplot.close(fig)


def test_history_and_latent_plots_check_their_input():
    fig = plotting.plot_history({"loss": [3, 2, 1], "val_loss": [3, 2.5, 2]}, title="curves")
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(KeyError, match="not in the history"):
        plotting.plot_history({"loss": [1]}, title="x", keys=["val_loss"])
    plotting.latent_scatter(np.zeros((10, 2)), np.arange(10), title="codes")
    with pytest.raises(ValueError, match="2-D codes"):
        plotting.latent_scatter(np.zeros((10, 3)), np.arange(10), title="codes")


def test_sample_grid_keeps_snapshots_of_fixed_inputs():
    model = Autoencoder(networks.dense_encoder(3, hidden=()), networks.dense_decoder(3, hidden=()), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    grid = SampleGrid.from_noise(3, n=4, seed=0, every=2)
    x = np.random.default_rng(0).random((16, 28, 28, 1)).astype(np.float32)
    model.fit(x, epochs=5, verbose=0, callbacks=[grid])
    assert [epoch for epoch, _ in grid.snapshots] == [2, 4, 5]
    assert grid.snapshots[-1][1].shape == (4, 28, 28, 1)
    assert not np.allclose(grid.snapshots[0][1], grid.snapshots[-1][1])
    with pytest.raises(AttributeError, match="model.generate"):
        model.fit(x, epochs=1, verbose=0, callbacks=[SampleGrid(grid.inputs, method="generate")])


def test_progress_counts_epochs_within_one_fit_and_across_fits():
    from gan_lessons.callbacks import Progress

    config_seed = np.random.default_rng(0)
    x = config_seed.uniform(size=(16, 28, 28, 1)).astype("float32")
    model = Autoencoder(networks.dense_encoder(2, hidden=(4,)), networks.dense_decoder(2, hidden=(4,)))
    model.compile(optimizer="adam")
    single = Progress("one fit")
    model.fit(x, epochs=3, batch_size=8, verbose=0, callbacks=[single])
    assert (single.done, single.run) == (3, 3) and single.seconds > 0
    shared = Progress("loop", total=4)
    for start in (0, 2):
        model.fit(x, initial_epoch=start, epochs=start + 2, batch_size=8, verbose=0, callbacks=[shared])
    assert shared.done == 4
    with pytest.raises(ValueError, match="total"):
        Progress(total=0)
