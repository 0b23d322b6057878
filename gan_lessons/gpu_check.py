"""Check the course's riskiest GPU paths in a few minutes and print what was seen.

    python -m gan_lessons.gpu_check          # on the machine to trust (a few minutes on a GPU)
    python -m gan_lessons.gpu_check --fast   # tiny sizes: runs anywhere (the tests run it on the CPU)

One line per check: the device TensorFlow uses and the time of its first operations (on a GPU newer
than the compiled kernels of the TensorFlow wheel, every kernel is compiled from PTX at first use);
every recipe trained one epoch twice from the same seed (same weights?); the importance-weighted
bound's peak device memory; the discriminative score twice; the tests with tight tolerances; two
processes training on the device at once. Exit status 1 when a check failed; weights that differ
between two seeded runs are reported, not failed (cuDNN's recurrent kernels may do that).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gan_lessons import config, data, evaluation, recipes
from gan_lessons.config import keras, tf

Finding = tuple[str, str]  # (status: "ok", "note" or "FAIL"; what was seen)
TESTS = Path(__file__).resolve().parents[1] / "tests"
# Tests that compare with tolerances a GPU's arithmetic can break: bit-for-bit weights, ±0.002
# accuracy, atol 1e-5 between two ways of running a decoder or a score.
TIGHT_TESTS = (
    "test_bench.py::test_ten_steps_per_execution_train_bit_for_bit_the_same_weights",
    "test_evaluation.py::test_reference_classifier_is_accurate_and_checks_its_input",
    "test_recurrent_vae.py",
    "test_timegan_protocol.py::test_runs_trained_side_by_side_equal_each_run_trained_alone",
    "test_sequences.py",
)


def gpu_in_use() -> str | None:
    """The name TensorFlow gives the first GPU it uses, or None on the CPU."""
    gpus = tf.config.list_physical_devices("GPU")
    return gpus[0].name.replace("/physical_device:", "") if gpus else None


def first_operations() -> list[Finding]:
    """Seconds of the first convolution, matrix product and LSTM step with its gradient."""
    start = time.perf_counter()
    images = tf.random.normal((64, 28, 28, 1))
    keras.layers.Conv2D(8, 3)(images).numpy()
    tf.linalg.matmul(tf.random.normal((256, 256)), tf.random.normal((256, 256))).numpy()
    lstm, sequences = keras.layers.LSTM(16), tf.random.normal((8, 30, 1))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(lstm(sequences))
    tape.gradient(loss, lstm.trainable_weights)[0].numpy()
    seconds = time.perf_counter() - start
    slow = seconds > 60
    note = " (over a minute: kernels compiled from PTX at first use; later runs reuse the cache)" if slow else ""
    return [("ok", f"first convolution, matrix product and LSTM gradient: {seconds:.1f} s{note}")]


def _weights_after_one_epoch(build: Callable[[], recipes.Recipe]) -> list[np.ndarray]:
    recipe = build()
    recipe.model.fit(recipe.train, epochs=1, verbose=0)
    return [np.asarray(v) for v in recipe.model.weights]


def repeated_recipes(n_digits: int, n_sines: int, fast: bool) -> list[Finding]:
    """Each recipe trained one epoch twice from seed 0: the largest weight difference between the two."""
    digits = data.load_digits(n_train=n_digits, n_test=10, verbose=False)
    sines = data.sine_waves(n_sines, seed=0).x
    options = {"run_eagerly": True} if fast else {}  # tiny runs: tracing would cost more than they do
    builders = {key: (lambda build=build: build(digits.x_train, seed=0, **options))
                for key, build in recipes.DIGIT_RECIPES.items()}
    builders["conditional_gan"] = lambda: recipes.conditional_gan(digits.x_train, labels=digits.y_train, seed=0,
                                                                  **options)
    builders |= {f"{key} (sines)": (lambda build=build: build(sines, seed=0, **options))
                 for key, build in recipes.SEQUENCE_RECIPES.items()}
    findings = []
    for name, build in builders.items():
        try:
            first, second = _weights_after_one_epoch(build), _weights_after_one_epoch(build)
        except Exception as error:  # e.g. an op without a deterministic GPU kernel: name the recipe, go on
            findings.append(("FAIL", f"{name}: {type(error).__name__}: {str(error)[:300]}"))
            continue
        gap = max(float(np.max(np.abs(a - b))) if a.size else 0.0 for a, b in zip(first, second))
        findings.append(("ok", f"{name}: one epoch twice, the same weights") if gap == 0 else
                        ("note", f"{name}: one epoch twice, weights differ by up to {gap:.2g}"))
    return findings


def importance_bound_memory(n: int, k: int) -> list[Finding]:
    """Seconds and peak device memory of lesson 02's importance-weighted bound on ``n`` digits, ``k`` samples."""
    recipe = recipes.vae(data.load_digits(n_train=10, n_test=n, verbose=False).x_test, seed=0)
    digits = data.binarize(recipe.x)
    device = gpu_in_use()
    if device:  # the peak from here on (memory the earlier checks still hold counts too)
        tf.config.experimental.reset_memory_stats(device)
    start = time.perf_counter()
    bound = evaluation.iwae_bound(recipe.model.log_importance_weights, digits, k)
    seconds = time.perf_counter() - start
    peak = (f"peak device memory {tf.config.experimental.get_memory_info(device)['peak'] / 2**20:,.0f} MiB"
            if device else "peak device memory: not measured on the CPU")
    finite = bool(np.isfinite(bound).all())
    return [("ok" if finite else "FAIL", f"importance-weighted bound, {n} digits × k = {k}: {seconds:.1f} s, {peak}, "
             f"bounds {'finite' if finite else 'NOT FINITE'}")]


def discriminative_twice(n: int, epochs: int) -> list[Finding]:
    """The post-hoc discriminative score of noisy against clean sines, computed twice from one seed."""
    real = data.sine_waves(n, seed=0).x
    noisy = real + np.random.default_rng(1).normal(0, 0.3, real.shape).astype(np.float32)
    scores = [evaluation.discriminative_score(real, noisy, seed=0, epochs=epochs) for _ in range(2)]
    same = scores[0] == scores[1]
    return [("ok" if same else "note", f"discriminative score twice from seed 0: {scores[0]:.4f} and {scores[1]:.4f} "
             f"({'the same' if same else 'different'})")]


def tight_tests() -> list[Finding]:
    """Run the tests with tight tolerances on this device."""
    if not TESTS.is_dir():
        return [("note", "tight tests: no tests/ folder here (an installed package): not run")]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(str(TESTS / t) for t in TIGHT_TESTS)]
    run = subprocess.run(command, cwd=TESTS.parent, capture_output=True, text=True)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr.strip()[-300:]
    return [("ok" if run.returncode == 0 else "FAIL", f"tight tests ({len(TIGHT_TESTS)} groups): {summary}")]


def worker(steps: int) -> None:
    """Train a small dense network for ``steps`` steps and print where it ran (one of the shared-device processes)."""
    config.seed_everything(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(64 * steps, 64)).astype(np.float32)
    model.fit(x, x[:, :1], batch_size=64, epochs=1, verbose=0)
    print(f"trained {steps} steps on {gpu_in_use() or 'the CPU'}")


def two_processes(steps: int) -> list[Finding]:
    """Start two worker processes at once: on a GPU both must get memory and cuDNN handles."""
    command = [sys.executable, "-m", "gan_lessons.gpu_check", "--worker", str(steps)]
    children = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(*child.communicate(), child.returncode) for child in children]
    failed = [(err, code) for _, err, code in results if code != 0]
    if failed:
        return [("FAIL", f"two processes at once: one exited with {failed[0][1]}: {failed[0][0].strip()[-300:]}")]
    reports = [out.strip().splitlines()[-1] for out, _, _ in results]
    if gpu_in_use() and any(report.endswith("the CPU") for report in reports):  # a silent fallback in a child
        return [("FAIL", f"two processes at once: {' / '.join(reports)}")]
    return [("ok", f"two processes at once: {' / '.join(reports)}")]


def main(argv: list[str] | None = None) -> int:
    """Run every check, print one line each, return 1 if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny sizes: checks that the checks run")
    parser.add_argument("--worker", type=int, metavar="STEPS", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    tf.config.experimental.enable_tensor_float_32_execution(True)  # TensorFlow's default on a GPU
    config.seed_everything(0)  # which must turn it off
    tf32 = "on" if tf.config.experimental.tensor_float_32_execution_enabled() else "off"
    print(f"device: {config.device_report()} · TF32 after config.seed_everything: {tf32} · "
          f"TF_FORCE_GPU_ALLOW_GROWTH={os.environ.get('TF_FORCE_GPU_ALLOW_GROWTH')}", flush=True)
    # wgan_gp needs 160 digits (5 critic batches of 32); lesson 02 bounds its 1,000 test digits with k up to
    # 500, which fills log_importance_weights' 50,000-row chunks: its peak memory
    sizes = dict(digits=160, sines=64, n=32, k=5, epochs=1, steps=20) if args.fast else \
        dict(digits=1000, sines=1000, n=1000, k=500, epochs=20, steps=500)
    checks: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("first operations", first_operations),
        ("recipes", lambda: repeated_recipes(sizes["digits"], sizes["sines"], args.fast)),
        ("importance-weighted bound", lambda: importance_bound_memory(sizes["n"], sizes["k"])),
        ("discriminative score", lambda: discriminative_twice(sizes["n"], sizes["epochs"])),
        ("tight tests", (lambda: [("note", "tight tests: not run in fast mode (the test suite runs them itself)")])
         if args.fast else tight_tests),
        ("two processes", lambda: two_processes(sizes["steps"])),
    ]
    failed = []
    for name, check in checks:
        start = time.perf_counter()
        try:
            findings = check()
        except Exception as error:  # a check that crashes is a finding, and the others still run
            findings = [("FAIL", f"{name}: {type(error).__name__}: {error}")]
        for status, line in findings:
            print(f"[{status}] {line}", flush=True)
        if any(status == "FAIL" for status, _ in findings):
            failed.append(name)
        print(f"       ({name}: {time.perf_counter() - start:.0f} s)", flush=True)
    print(f"failed: {', '.join(failed)}" if failed else f"all {len(checks)} checks passed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
