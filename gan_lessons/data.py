"""Digit data sets, offline first, and the small helpers every lesson applies to them.

Images are returned as raw uint8 arrays of shape (N, 28, 28); :func:`scale_pixels` turns them
into float32 (N, 28, 28, 1) tensors in the range a model's output activation produces.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_lessons.config import tf

SOURCES = ("auto", "bundled", "keras")
VALUE_RANGES = ("unit", "signed")
IMAGE_SHAPE = (28, 28)
DATA_VARIABLE = "GAN_LESSONS_DATA"
# The files the lessons load travel inside the package (so a wheel carries them); ``data/`` at the
# top of the repository keeps the scripts that build them, and their provenance.
BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
DATA_DIR = Path(os.environ.get(DATA_VARIABLE) or BUNDLED_DIR)
BUNDLED_FILE = "digits.npz"
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
OFFLINE_VARIABLE = "GAN_LESSONS_OFFLINE"


@dataclass(frozen=True)
class Digits:
    """A train/test split of digits: uint8 images (N, 28, 28), int32 labels, and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def describe(self) -> str:
        """One line: source and split sizes."""
        return f"{self.source}: {len(self.x_train):,} train / {len(self.x_test):,} test digits"


def load_digits(
    source: str = "auto",
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    timeout: float = 5.0,
    verbose: bool = True,
) -> Digits:
    """Load MNIST digits; ``n_train``/``n_test`` keep a class-balanced head of each split.

    ``source="bundled"``: the 5,000-digit subset in ``gan_lessons/bundled/`` (always offline, what lessons use).
    ``source="keras"``: full MNIST from the Keras cache or its download; raises if neither works.
    ``source="auto"``: full MNIST when it can be had within ``timeout`` seconds, else the subset.
    Prints one line saying which data it returns unless ``verbose=False``.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    note = ""
    if source == "bundled":
        digits = _load_bundled()
    else:
        try:
            digits = _load_keras_mnist(timeout)
        except OSError as err:
            if source == "keras":
                raise OSError(
                    f"full MNIST is neither in the Keras cache ({_keras_cache_file()}) nor "
                    f"downloadable ({err}); use source='bundled' for the offline subset"
                ) from err
            digits = _load_bundled()
            note = f" (full MNIST unavailable: {err})"
    digits = Digits(
        *_balanced_head(digits.x_train, digits.y_train, n_train),
        *_balanced_head(digits.x_test, digits.y_test, n_test),
        source=digits.source,
    )
    if verbose:
        print(f"Digits: {digits.describe()}{note}")
    return digits


def _load_bundled() -> Digits:
    path = DATA_DIR / BUNDLED_FILE
    if not path.is_file():
        raise missing_data_error(BUNDLED_FILE, "build_digits.py")
    return _digits_from_npz(path, "bundled MNIST subset")


def missing_data_error(name: str, build_script: str) -> FileNotFoundError:
    """The error for a course data file that is not where the lessons look, with a fix that works
    from where the user is: a clone can restore or rebuild the file, an installed wheel reinstalls."""
    where = f"{name} is missing from {DATA_DIR}"
    if DATA_DIR != BUNDLED_DIR:
        return FileNotFoundError(f"{where}, the folder ${DATA_VARIABLE} points at: copy the file there or unset it")
    repository = BUNDLED_DIR.parents[1]
    script = repository / "data" / build_script
    if script.is_file():  # a clone: git has the file; the script rebuilds it
        return FileNotFoundError(f"{where}: restore it with `git -C {repository} checkout -- "
                                 f"gan_lessons/bundled/{name}` or rebuild it with `python {script}`")
    return FileNotFoundError(f"{where}: this installation is incomplete; reinstall the course with `{sys.executable} "
                             "-m pip install --force-reinstall --no-deps <the wheel or URL it came from>`")


def _digits_from_npz(path: Path, source: str) -> Digits:
    """Read the four arrays that both the bundled file and Keras' mnist.npz hold."""
    with np.load(path) as arrays:
        return Digits(
            arrays["x_train"], arrays["y_train"].astype(np.int32),
            arrays["x_test"], arrays["y_test"].astype(np.int32),
            source=source,
        )


def _keras_cache_file() -> Path:
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return home / "datasets" / "mnist.npz"


def _load_keras_mnist(timeout: float) -> Digits:
    """Full MNIST from the Keras cache, downloading it there first if needed (bounded in time)."""
    path = _keras_cache_file()
    if not path.is_file():
        if os.environ.get(OFFLINE_VARIABLE, "") not in ("", "0"):
            raise OSError(f"{OFFLINE_VARIABLE} is set, not downloading")
        blob = _fetch(MNIST_URL, timeout)
        if hashlib.sha256(blob).hexdigest() != MNIST_SHA256:
            raise OSError("downloaded mnist.npz has the wrong checksum")
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            tmp.write(blob)
        os.replace(tmp.name, path)
    return _digits_from_npz(path, "full MNIST")


def _fetch(url: str, timeout: float) -> bytes:
    """Download ``url``; give up if no response starts within ``timeout`` seconds.

    The request runs in a daemon thread so that even a DNS lookup that never answers cannot
    hold the lesson: after ``timeout`` seconds without a response we stop waiting.
    """
    result: dict = {}
    responded = threading.Event()

    def work() -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                responded.set()
                result["data"] = response.read()
        except Exception as err:  # any failure means "not downloadable"; reported below
            result["error"] = err
        finally:
            responded.set()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    if not responded.wait(timeout):
        raise OSError(f"no response from the server within {timeout:g} s (offline?)")
    thread.join()  # a started transfer is bounded by the socket timeout between reads
    if "error" in result:
        raise OSError(f"download failed: {result['error']}")
    return result["data"]


def _balanced_head(x: np.ndarray, y: np.ndarray, n: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` examples in an order that cycles through classes, so any head is balanced."""
    if n is None:
        return x, y
    if not 0 < n <= len(x):
        raise ValueError(f"asked for {n} examples but the split holds {len(x)}")
    rank_in_class = np.empty(len(y), dtype=np.int64)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        rank_in_class[members] = np.arange(len(members))
    order = np.lexsort((np.arange(len(y)), rank_in_class))[:n]
    order.sort()
    return x[order], y[order]


def check_images(images: np.ndarray, name: str = "images") -> np.ndarray:
    """Return ``images`` as an array, raising a clear error unless shaped (N, 28, 28[, 1])."""
    images = np.asarray(images)
    ok = images.ndim in (3, 4) and images.shape[1:3] == IMAGE_SHAPE
    if ok and images.ndim == 4:
        ok = images.shape[3] == 1
    if not ok or len(images) == 0:
        raise ValueError(f"{name} must have shape (N, 28, 28) or (N, 28, 28, 1) with N > 0, got {images.shape}")
    return images


def scale_pixels(images: np.ndarray, value_range: str = "unit") -> np.ndarray:
    """Raw pixels 0–255 → float32 (N, 28, 28, 1) in [0, 1] (``"unit"``) or [−1, 1] (``"signed"``).

    Match the range to the decoder's output activation: sigmoid ↔ unit, tanh ↔ signed.
    """
    images = check_images(images)
    if value_range not in VALUE_RANGES:
        raise ValueError(f"value_range must be one of {VALUE_RANGES}, got {value_range!r}")
    if not np.issubdtype(images.dtype, np.integer):
        raise ValueError(
            f"scale_pixels expects raw integer pixels 0–255 as loaded, got {images.dtype} "
            f"values in [{images.min():.3g}, {images.max():.3g}]; are they scaled already?"
        )
    if images.min() < 0 or images.max() > 255:
        raise ValueError(f"pixels must lie in 0–255, got [{images.min()}, {images.max()}]")
    unit = images.astype(np.float32) / 255.0
    scaled = unit if value_range == "unit" else 2.0 * unit - 1.0
    return scaled.reshape(len(images), *IMAGE_SHAPE, 1)


def unscale_pixels(images: np.ndarray, value_range: str = "unit") -> np.ndarray:
    """Inverse of :func:`scale_pixels` for display: float images → [0, 1] (clipped)."""
    if value_range not in VALUE_RANGES:
        raise ValueError(f"value_range must be one of {VALUE_RANGES}, got {value_range!r}")
    images = np.asarray(images, dtype=np.float32)
    unit = images if value_range == "unit" else (images + 1.0) / 2.0
    return np.clip(unit, 0.0, 1.0)


def _check_unit_interval(images: np.ndarray) -> np.ndarray:
    images = check_images(images)
    if not np.issubdtype(images.dtype, np.floating) or images.min() < 0 or images.max() > 1:
        raise ValueError(
            "binarization needs float intensities in [0, 1] (use scale_pixels(..., 'unit') first), "
            f"got {images.dtype} in [{images.min():.3g}, {images.max():.3g}]"
        )
    return images


def binarize(images: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
    """Static binarization: pixel on iff intensity > ``threshold`` (same result every call)."""
    images = _check_unit_interval(images)
    return (images > threshold).astype(np.float32)


def sample_binarized(images: np.ndarray, *, seed: int) -> np.ndarray:
    """Dynamic binarization: each pixel is a Bernoulli draw with its intensity as probability.

    The standard for likelihoods on MNIST; a fixed ``seed`` gives a fixed held-out set.
    """
    images = _check_unit_interval(images)
    rng = np.random.default_rng(seed)
    return (rng.random(images.shape) < images).astype(np.float32)


def make_dataset(
    x: np.ndarray,
    y: np.ndarray | None = None,
    *,
    batch_size: int = 128,
    shuffle: bool = True,
    seed: int = 0,
    dynamic_binarization: bool = False,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """A tf.data pipeline: shuffle afresh every epoch, batch, (optionally) binarize afresh, prefetch.
    ``drop_remainder`` drops a smaller last batch (e.g. for a GAN that packs samples in pairs).

    Each pass's order and binarized pixels are drawn from (``seed``, its epoch) alone, so a resumed
    run gets the epochs the interrupted one would have had: the pipeline counts its passes, and
    :func:`set_epoch` (``callbacks.long_run`` with the pipeline) puts it at a given epoch.
    Prefer it to passing arrays to ``fit``: under a global seed, Keras' own array shuffling
    repeats the same order every epoch (lesson 00 shows it), while this pipeline reshuffles.
    """
    x = np.asarray(x)
    if y is not None and len(y) != len(x):
        raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if dynamic_binarization:
        _check_unit_interval(x)
    images, labels, n = tf.constant(x), None if y is None else tf.constant(np.asarray(y)), len(x)
    with tf.device("/CPU:0"):  # tf.data runs on the CPU; its counter must live there, not on a GPU
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="pipeline_epoch")

    def next_epoch(_):
        return tf.stack([tf.constant(seed, tf.int64), epoch.assign_add(1) - 1])  # the pass's key: (seed, epoch)

    def batches(key):
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=key)
        numbered = tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=drop_remainder)
        fold_in = tf.random.experimental.stateless_fold_in
        return numbered.enumerate().map(lambda number, indices: gather(indices, fold_in(key, number)))

    def gather(indices, batch_key):
        batch = tf.gather(images, indices)
        if dynamic_binarization:  # stateless draws: the same (seed, epoch, batch) gives the same pixels
            batch = tf.cast(tf.random.stateless_uniform(tf.shape(batch), seed=batch_key) < batch, batch.dtype)
        return batch if labels is None else (batch, tf.gather(labels, indices))

    steps = n // batch_size if drop_remainder else -(-n // batch_size)
    ds = tf.data.Dataset.from_tensors(0).map(next_epoch).flat_map(batches)
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(tf.data.AUTOTUNE)
    ds.pipeline_epoch = epoch  # the epoch of its next pass (set_epoch moves it)
    return ds


def set_epoch(dataset: tf.data.Dataset, epoch: int) -> None:
    """Put a :func:`make_dataset` pipeline at ``epoch``: its next pass draws that epoch's order and pixels."""
    if not isinstance(getattr(dataset, "pipeline_epoch", None), tf.Variable):
        raise TypeError("set_epoch positions pipelines made by data.make_dataset; this dataset is not one")
    if not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"epoch must be a non-negative integer, got {epoch!r}")
    dataset.pipeline_epoch.assign(epoch)


# ---------------------------------------------------------------- sequences

SINE_LENGTH = 30


@dataclass(frozen=True)
class SineWaves:
    """Sequences (N, length, 1) float32 and the parameters each was drawn with."""

    x: np.ndarray
    frequency: np.ndarray
    amplitude: np.ndarray
    phase: np.ndarray


def sine_waves(n: int, *, length: int = SINE_LENGTH, seed: int = 0) -> SineWaves:
    """The RCGAN sine data (Esteban et al. 2017): x_t = A sin(2π f t / length + φ), t = 0…length−1,
    with f ~ U[1, 5], A ~ U[0.1, 0.9], φ ~ U[−π, π]; generated, so any count and no download."""
    if n < 1 or length < 2:
        raise ValueError(f"need n >= 1 and length >= 2, got n={n}, length={length}")
    # One row of three uniforms per sequence, so the first k sequences do not depend on n.
    low, high = np.array([1.0, 0.1, -np.pi]), np.array([5.0, 0.9, np.pi])
    frequency, amplitude, phase = (low + (high - low) * np.random.default_rng(seed).uniform(size=(n, 3))).T
    t = np.arange(length)
    x = amplitude[:, None] * np.sin(2 * np.pi * frequency[:, None] * t / length + phase[:, None])
    return SineWaves(x[..., None].astype(np.float32), frequency, amplitude, phase)


def timegan_sines(n: int = 10_000, *, length: int = 24, features: int = 5, seed: int = 0) -> np.ndarray:
    """TimeGAN's sine benchmark (Yoon et al. 2019): (n, length, features) float32 in [0, 1], each
    feature (sin(f t + φ) + 1)/2 for t = 0…length−1 with its own f, φ ~ U(0, 0.1)."""
    if n < 1 or length < 2 or features < 2:
        raise ValueError(f"need n >= 1, length >= 2 and features >= 2, got n={n}, length={length}, "
                         f"features={features}")
    frequency, phase = np.random.default_rng(seed).uniform(0.0, 0.1, size=(2, n, 1, features))
    t = np.arange(length)[None, :, None]
    return ((np.sin(frequency * t + phase) + 1.0) / 2.0).astype(np.float32)


def digit_rows(images: np.ndarray) -> np.ndarray:
    """Digits as sequences read top to bottom: (N, 28 steps, 28 features) in [0, 1]."""
    return scale_pixels(images).reshape(len(images), *IMAGE_SHAPE)
