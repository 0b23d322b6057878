import http.server
import threading
import time

import numpy as np
import pytest

from gan_lessons import config, data, evaluation
from gan_lessons.config import tf


@pytest.fixture
def no_keras_cache(monkeypatch, tmp_path):
    """An empty Keras cache and downloads allowed: the loader must decide for itself."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv(data.OFFLINE_VARIABLE, raising=False)


@pytest.fixture
def silent_server():
    """A local server that accepts connections but never answers: the worst case for a hang."""

    class Stall(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(30)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stall)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/mnist.npz"
    server.shutdown()


def test_bundled_digits_are_the_stratified_5k_subset(capsys):
    digits = data.load_digits("bundled")
    assert "bundled MNIST subset: 4,000 train / 1,000 test" in capsys.readouterr().out
    assert digits.x_train.shape == (4000, 28, 28) and digits.x_test.shape == (1000, 28, 28)
    assert digits.x_train.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(digits.y_train), [400] * 10)
    np.testing.assert_array_equal(np.bincount(digits.y_test), [100] * 10)
    train_rows = {row.tobytes() for row in digits.x_train}
    assert not any(row.tobytes() in train_rows for row in digits.x_test), "train and test overlap"


def test_head_of_a_split_is_class_balanced_and_deterministic():
    a = data.load_digits("bundled", n_train=50, n_test=20, verbose=False)
    b = data.load_digits("bundled", n_train=50, n_test=20, verbose=False)
    np.testing.assert_array_equal(np.bincount(a.y_train), [5] * 10)
    np.testing.assert_array_equal(np.bincount(a.y_test), [2] * 10)
    np.testing.assert_array_equal(a.x_train, b.x_train)


def test_auto_falls_back_quickly_when_offline(no_keras_cache, monkeypatch, capsys):
    monkeypatch.setattr(data, "MNIST_URL", "http://127.0.0.1:9/mnist.npz")  # nothing listens there
    start = time.perf_counter()
    digits = data.load_digits("auto")
    assert time.perf_counter() - start < 5
    assert digits.source == "bundled MNIST subset"
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "full MNIST unavailable" in out


def test_auto_does_not_hang_on_a_server_that_never_answers(no_keras_cache, monkeypatch, silent_server):
    monkeypatch.setattr(data, "MNIST_URL", silent_server)
    start = time.perf_counter()
    digits = data.load_digits("auto", timeout=1.0, verbose=False)
    assert time.perf_counter() - start < 4
    assert digits.source == "bundled MNIST subset"


def test_offline_switch_skips_the_download(no_keras_cache, monkeypatch):
    monkeypatch.setenv(data.OFFLINE_VARIABLE, "1")
    monkeypatch.setattr(data, "_fetch", lambda *a: pytest.fail("must not try to download"))
    assert data.load_digits("auto", verbose=False).source == "bundled MNIST subset"


def test_keras_source_offline_is_a_clear_error(no_keras_cache, monkeypatch):
    monkeypatch.setattr(data, "MNIST_URL", "http://127.0.0.1:9/mnist.npz")
    with pytest.raises(OSError, match="source='bundled'"):
        data.load_digits("keras")


def test_keras_cache_is_used_when_present(monkeypatch, tmp_path):
    cache = tmp_path / "datasets"
    cache.mkdir()
    rng = np.random.default_rng(0)
    np.savez(cache / "mnist.npz", x_train=rng.integers(0, 256, (60, 28, 28), dtype=np.uint8),
             y_train=np.arange(60) % 10, x_test=np.zeros((10, 28, 28), np.uint8), y_test=np.arange(10))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    digits = data.load_digits("auto", verbose=False)
    assert digits.source == "full MNIST" and len(digits.x_train) == 60


def test_unknown_source_and_missing_file_are_clear_errors(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="source must be one of"):
        data.load_digits("internet")
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)  # as if $GAN_LESSONS_DATA named an empty folder
    with pytest.raises(FileNotFoundError, match=r"digits.npz is missing from .*, the folder \$GAN_LESSONS_DATA"):
        data.load_digits("bundled")


@pytest.mark.parametrize("installed_from", ["clone", "wheel"])
def test_a_missing_data_file_names_a_fix_that_works_from_where_the_user_is(monkeypatch, tmp_path, installed_from):
    bundled = tmp_path / "gan_lessons" / "bundled"
    bundled.mkdir(parents=True)
    if installed_from == "clone":
        (tmp_path / "data").mkdir()
        for script in ("build_digits.py", "train_classifier.py"):
            (tmp_path / "data" / script).write_text("")
    monkeypatch.setattr(data, "BUNDLED_DIR", bundled)
    monkeypatch.setattr(data, "DATA_DIR", bundled)
    evaluation.load_classifier.cache_clear()  # a classifier loaded by an earlier test would hide the missing file
    for load, name, script in [(lambda: data.load_digits("bundled"), "digits.npz", "build_digits.py"),
                               (evaluation.load_classifier, "classifier.weights.h5", "train_classifier.py")]:
        with pytest.raises(FileNotFoundError) as error:
            load()
        message = str(error.value)
        assert message.startswith(f"{name} is missing from {bundled}") and "\n" not in message
        if installed_from == "clone":  # both commands name absolute paths, so they work from any folder
            assert f"git -C {tmp_path} checkout -- gan_lessons/bundled/{name}" in message
            assert f"python {tmp_path / 'data' / script}" in message
        else:
            assert "pip install --force-reinstall --no-deps" in message


def test_too_many_examples_requested():
    with pytest.raises(ValueError, match="split holds 1000"):
        data.load_digits("bundled", n_test=5000, verbose=False)


def test_scale_pixels_ranges_and_shape():
    raw = np.array([[[0, 255], [51, 102]]], dtype=np.uint8).repeat(14, 1).repeat(14, 2)
    unit = data.scale_pixels(raw)
    signed = data.scale_pixels(raw, "signed")
    assert unit.shape == (1, 28, 28, 1) and unit.dtype == np.float32
    assert unit.min() == 0 and unit.max() == 1 and signed.min() == -1 and signed.max() == 1
    np.testing.assert_allclose(data.unscale_pixels(signed, "signed"), unit, atol=1e-6)


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((4, 32, 32), np.uint8), "shape"),
        (np.zeros((4, 784), np.uint8), "shape"),
        (np.zeros((4, 28, 28, 3), np.uint8), "shape"),
        (np.full((4, 28, 28), 0.5, np.float32), "scaled already"),
        (np.full((4, 28, 28), 300, np.int32), "0–255"),
    ],
)
def test_scale_pixels_rejects_bad_input(images, message):
    with pytest.raises(ValueError, match=message):
        data.scale_pixels(images)


def test_binarization_static_and_dynamic():
    x = np.full((2000, 28, 28, 1), 0.3, np.float32)
    x[:, :, :14] = 0.8
    static = data.binarize(x)
    assert set(np.unique(static)) == {0.0, 1.0}
    assert static[:, :, :14].all() and not static[:, :, 14:].any()
    drawn = data.sample_binarized(x, seed=1)
    assert abs(drawn[:, :, :14].mean() - 0.8) < 0.01 and abs(drawn[:, :, 14:].mean() - 0.3) < 0.01
    np.testing.assert_array_equal(drawn, data.sample_binarized(x, seed=1))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.binarize(np.full((2, 28, 28), 255, np.uint8))


def test_dataset_pipeline_reshuffles_and_rebinarizes_every_epoch():
    config.seed_everything(0)  # a global seed is what made Keras' array shuffling repeat itself
    x = np.linspace(0.01, 0.99, 64, dtype=np.float32)[:, None, None, None] * np.ones((1, 28, 28, 1), np.float32)
    ds = data.make_dataset(x, np.arange(64), batch_size=64, dynamic_binarization=True)
    [(first_pixels, first_order)], [(second_pixels, second_order)] = list(ds), list(ds)
    assert not np.array_equal(first_order, second_order)
    first_counts, second_counts = first_pixels.numpy().sum((1, 2, 3)), second_pixels.numpy().sum((1, 2, 3))
    assert not np.array_equal(np.sort(first_counts), np.sort(second_counts))


def test_each_pass_of_a_pipeline_depends_on_seed_and_epoch_only():
    """A pipeline put back at epoch 1 replays the second pass, and a new pipeline with the same seed
    gives the same passes: what a resumed run needs (tests/test_resume_after_a_crash.py does the crash)."""
    x = np.linspace(0.01, 0.99, 16, dtype=np.float32)[:, None, None] * np.ones((1, 28, 28), np.float32)

    def passes(ds, n):
        return [[(a.numpy(), b.numpy()) for a, b in ds] for _ in range(n)]

    ds = data.make_dataset(x, np.arange(16), batch_size=4, seed=5, dynamic_binarization=True)
    three = passes(ds, 3)
    data.set_epoch(ds, 1)
    replayed = passes(ds, 2)
    fresh = passes(data.make_dataset(x, np.arange(16), batch_size=4, seed=5, dynamic_binarization=True), 3)
    for mine, theirs in [*zip(three[1:], replayed), *zip(three, fresh)]:
        for (pixels_a, order_a), (pixels_b, order_b) in zip(mine, theirs, strict=True):
            np.testing.assert_array_equal(order_a, order_b)
            np.testing.assert_array_equal(pixels_a, pixels_b)
    assert int(ds.cardinality()) == 4
    with pytest.raises(TypeError, match="made by data.make_dataset"):
        data.set_epoch(tf.data.Dataset.range(3), 0)
    with pytest.raises(ValueError, match="non-negative"):
        data.set_epoch(ds, -1)


def test_dataset_pipeline_batches_and_binarizes():
    x = np.full((10, 28, 28, 1), 0.5, np.float32)
    y = np.arange(10)
    batches = list(data.make_dataset(x, y, batch_size=4, dynamic_binarization=True))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert set(np.unique(np.concatenate([b[0] for b in batches]))) == {0.0, 1.0}
    assert sorted(np.concatenate([b[1] for b in batches])) == list(range(10))
    with pytest.raises(ValueError, match="differ in length"):
        data.make_dataset(x, y[:3])
    with pytest.raises(ValueError, match="batch_size"):
        data.make_dataset(x, batch_size=0)
