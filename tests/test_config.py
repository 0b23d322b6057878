import os
import subprocess
import sys

import numpy as np
import pytest

from gan_lessons import config, course
from gan_lessons.config import keras, tf

USES_GPU = bool(tf.config.list_physical_devices("GPU"))


def test_default_mode_is_full(monkeypatch):
    monkeypatch.delenv(config.MODE_VARIABLE, raising=False)
    assert config.mode() == "full"
    assert config.pick(full=30, fast=1) == 30


def test_fast_mode_picks_fast_value(monkeypatch):
    monkeypatch.setenv(config.MODE_VARIABLE, " FAST ")
    assert config.is_fast()
    assert config.pick(full=30, fast=1) == 1


def test_unknown_mode_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(config.MODE_VARIABLE, "quick")
    with pytest.raises(ValueError, match="not a lesson mode"):
        config.pick(full=1, fast=2)


def test_seeding_repeats_every_random_source():
    def draw():
        config.seed_everything(7)
        layer = keras.layers.Dense(2)
        layer.build((None, 4))
        return np.random.rand(3), keras.ops.convert_to_numpy(keras.random.normal((3,))), layer.kernel.numpy()

    for first, second in zip(draw(), draw()):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("seed", [-1, 1.5, "0"])
def test_bad_seed_is_rejected(seed):
    with pytest.raises(ValueError, match="seed"):
        config.seed_everything(seed)


def test_setup_reports_mode_seed_and_device(monkeypatch):
    monkeypatch.setenv(config.MODE_VARIABLE, "fast")
    line = config.setup(seed=3)
    assert "mode fast" in line and "seed 3" in line
    assert ("CPU only" in line) or ("GPU:" in line)
    assert "\n" not in line


def test_the_private_keras_seed_reset_still_exists_and_works():
    """seed_everything relies on one private Keras attribute (no public route exists); if Keras moves
    it, this test says so before a lesson silently loses its reproducibility."""
    from keras.src.backend.common import global_state

    keras.random.normal((1,))  # creates the global generator
    config.reset_global_seed_generator()
    assert global_state.get_global_attribute("global_seed_generator") is None


def test_seeding_turns_tf32_off():
    """TF32 (on by default on Ampere and newer GPUs) would move GPU results away from the CPU's."""
    tf.config.experimental.enable_tensor_float_32_execution(True)
    config.seed_everything(0)
    assert not tf.config.experimental.tensor_float_32_execution_enabled()


@pytest.mark.skipif(USES_GPU, reason="TensorFlow uses a GPU here: no fallback to report")
def test_the_device_report_says_when_tensorflow_ignores_an_nvidia_gpu(monkeypatch):
    monkeypatch.setattr(config, "nvidia_gpu_present", lambda: True)
    line = config.device_report()
    assert "CPU only" in line and "NVIDIA GPU that TensorFlow does not use" in line
    assert "course test --gpu" in line and "\n" not in line
    monkeypatch.setattr(config, "nvidia_gpu_present", lambda: False)
    assert "NVIDIA" not in config.device_report()


@pytest.mark.skipif(USES_GPU, reason="TensorFlow uses a GPU here")
def test_a_required_gpu_stops_a_cpu_run_with_the_reason(monkeypatch):
    monkeypatch.setenv(course.REQUIRE_GPU_VARIABLE, "1")
    with pytest.raises(RuntimeError, match="GAN_LESSONS_REQUIRE_GPU=1 but TensorFlow uses no GPU: .*CPU only"):
        config.check_required_gpu()
    with pytest.raises(RuntimeError, match="uses no GPU"):
        config.setup(0)  # every lesson's first cell


def test_tensorflow_uses_the_gpu_when_the_run_requires_one():
    """Under ``course test --gpu`` this fails on a machine where TensorFlow fell back to the CPU."""
    config.check_required_gpu()


def test_gpu_memory_growth_reaches_every_process_started_after_the_package(tmp_path):
    child = "import os; print(os.environ.get('TF_FORCE_GPU_ALLOW_GROWTH'))"
    parent = f"import gan_lessons, subprocess, sys; print(subprocess.run([sys.executable, '-c', {child!r}], " \
             "capture_output=True, text=True).stdout.strip())"
    environment = {k: v for k, v in os.environ.items() if k != "TF_FORCE_GPU_ALLOW_GROWTH"}
    seen = subprocess.run([sys.executable, "-c", parent], env=environment, capture_output=True, text=True, cwd=tmp_path)
    assert seen.stdout.strip() == "true", seen.stderr
    chosen = subprocess.run([sys.executable, "-c", parent], env={**environment, "TF_FORCE_GPU_ALLOW_GROWTH": "false"},
                            capture_output=True, text=True, cwd=tmp_path)
    assert chosen.stdout.strip() == "false"  # a user's own setting stays
