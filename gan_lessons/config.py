"""Lesson mode (fast/full), seeding and determinism, and a one-line device report.

Notebooks never read ``GAN_LESSONS_MODE`` themselves: they ask :func:`pick` for sizes, so one
switch turns every lesson into its quick test version.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import TypeVar

import gan_lessons
from gan_lessons.course import REQUIRE_GPU_VARIABLE

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
# TensorFlow's Python logger writes INFO lines on every fit under a tf.distribute strategy (devices,
# reductions), and a "triggered tf.function retracing" warning when a lesson fits many small models
# for a step each (lesson 00). Lessons keep its errors only; tf.get_logger().setLevel("INFO") shows all.
tf.get_logger().setLevel("ERROR")


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
    """Seed Python, NumPy and Keras/TensorFlow, make TensorFlow ops deterministic and turn TF32 off.

    With this, a rerun on the same machine reproduces the same numbers and pictures (on a GPU: see
    the README's GPU section for what cuDNN's recurrent layers may still change).
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    keras.utils.set_random_seed(seed)
    reset_global_seed_generator()
    tf.config.experimental.enable_op_determinism()
    # On Ampere and newer GPUs TensorFlow multiplies float32 matrices in TF32 (10-bit mantissa) by
    # default; full float32 keeps GPU results close to the CPU's. No effect on a CPU.
    tf.config.experimental.enable_tensor_float_32_execution(False)


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


def nvidia_gpu_present() -> bool:
    """Whether this machine has an NVIDIA GPU with its driver loaded, whatever TensorFlow sees: the
    driver's device files (Linux), else ``nvidia-smi -L`` (e.g. WSL)."""
    if Path("/dev/nvidia0").exists() or any(Path("/proc/driver/nvidia/gpus").glob("*")):
        return True
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return listing.returncode == 0 and "GPU" in listing.stdout


def device_report() -> str:
    """One line naming the library versions and the device TensorFlow uses; when it uses the CPU on a
    machine with an NVIDIA GPU, the likely causes and the fix instead of TensorFlow's hidden messages."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
        growth = os.environ.get("TF_FORCE_GPU_ALLOW_GROWTH") == "true"  # TensorFlow reads exactly "true"
        device = f"GPU: {', '.join(names)} (memory growth {'on' if growth else 'off'})"
    else:
        device = f"CPU only ({_cpu_cores()} cores, {platform.machine()})"
        if nvidia_gpu_present():
            device += (" — this machine has an NVIDIA GPU that TensorFlow does not use. Most often TensorFlow's CUDA "
                       "libraries are missing: python3 -m gan_lessons.course test --gpu installs them (elsewhere: pip "
                       "install \"tensorflow[and-cuda]\"); if they are there, check the driver (nvidia-smi) and "
                       "CUDA_VISIBLE_DEVICES")
    return f"TensorFlow {tf.__version__}, Keras {keras.__version__} · {device}"


def check_required_gpu() -> None:
    """With ``GAN_LESSONS_REQUIRE_GPU=1`` (the test command's ``--gpu``), fail unless TensorFlow uses a
    GPU: a GPU test run must not pass on the CPU without anyone noticing."""
    if os.environ.get(REQUIRE_GPU_VARIABLE) == "1" and not tf.config.list_physical_devices("GPU"):
        raise RuntimeError(f"{REQUIRE_GPU_VARIABLE}=1 but TensorFlow uses no GPU: {device_report()}")


def setup(seed: int = 0) -> str:
    """Start a lesson: seed everything and return a one-line report of mode, seed and device (an error
    instead when a GPU is required and TensorFlow has none)."""
    check_required_gpu()
    seed_everything(seed)
    return f"gan_lessons {gan_lessons.__version__} · mode {mode()} · seed {seed} · {device_report()}"
