"""Lesson mode (fast/full), seeding and determinism, and a one-line device report.

Notebooks never read ``GAN_LESSONS_MODE`` themselves: they ask :func:`pick` for sizes, so one
switch turns every lesson into its quick test version.
"""

from __future__ import annotations

import os
import platform
import warnings
from pathlib import Path
from typing import TypeVar

import gan_lessons

MODE_VARIABLE = "GAN_LESSONS_MODE"
STATE_VARIABLE = "GAN_LESSONS_STATE"
MODES = ("full", "fast")
T = TypeVar("T")


def _import_tensorflow_quietly():
    """Import TensorFlow and Keras with file descriptor 2 pointed at /dev/null.

    TensorFlow >= 2.20 writes its start-up lines (oneDNN, CUDA probing) through absl before
    ``TF_CPP_MIN_LOG_LEVEL`` is honoured; they would land in the first cell of every lesson.
    Python exceptions still propagate: only the C++ chatter of the import is dropped.
    """
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras
        import tensorflow

        tensorflow.config.list_physical_devices("GPU")  # probe CUDA now, while quiet
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow, keras


tf, keras = _import_tensorflow_quietly()

# Keras warns that fit(shuffle=True) is ignored for a tf.data.Dataset even when shuffle was left
# at its default; the course's pipelines (data.make_dataset) shuffle every epoch themselves.
warnings.filterwarnings("ignore", message="`shuffle=True` was passed, but will be ignored", category=UserWarning)


def mode() -> str:
    """Return the lesson mode, ``"full"`` (default, for people) or ``"fast"`` (for tests)."""
    value = os.environ.get(MODE_VARIABLE, "").strip().lower() or "full"
    if value not in MODES:
        raise ValueError(
            f"{MODE_VARIABLE}={value!r} is not a lesson mode: use 'full' (the default, for "
            "learning) or 'fast' (tiny sizes, for tests)."
        )
    return value


def is_fast() -> bool:
    """True when lessons should shrink data and epochs to run as tests."""
    return mode() == "fast"


def training_state_dir(name: str) -> Path:
    """The folder where the long run ``name`` keeps its state between kernel restarts: under
    ``$GAN_LESSONS_STATE`` (default ``~/.cache/gan_lessons``), one folder per mode, so that a fast
    test run never resumes, or deletes, an interrupted full run."""
    root = os.environ.get(STATE_VARIABLE) or Path.home() / ".cache" / "gan_lessons"
    return Path(root) / mode() / name


def pick(*, full: T, fast: T) -> T:
    """Choose a size for the current mode, e.g. ``EPOCHS = pick(full=30, fast=1)``."""
    return fast if is_fast() else full


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and Keras/TensorFlow and make TensorFlow ops deterministic.

    With this, a rerun on the same machine reproduces the same numbers and pictures.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    keras.utils.set_random_seed(seed)
    reset_global_seed_generator()
    tf.config.experimental.enable_op_determinism()


def reset_global_seed_generator() -> None:
    """Drop Keras' global SeedGenerator so that unseeded ``keras.random`` calls and initializers
    restart from the seed just set: Keras < 3.13 keeps it across ``set_random_seed`` (newer Keras
    drops it itself). No public API exists; ``tests/test_config.py`` fails loudly if this one moves."""
    from keras.src.backend.common import global_state

    global_state.set_global_attribute("global_seed_generator", None)


def _cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def device_report() -> str:
    """One line naming the library versions and the device TensorFlow will use."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
        device = f"GPU: {', '.join(names)}"
    else:
        device = f"CPU only ({_cpu_cores()} cores, {platform.machine()})"
    return f"TensorFlow {tf.__version__}, Keras {keras.__version__} · {device}"


def setup(seed: int = 0) -> str:
    """Start a lesson: seed everything and return a one-line report of mode, seed and device."""
    seed_everything(seed)
    return f"gan_lessons {gan_lessons.__version__} · mode {mode()} · seed {seed} · {device_report()}"
