"""Execute lesson notebooks and store their outputs with a fingerprint of the code behind them.

    python -m gan_lessons.render notebooks/01_autoencoders.ipynb [...]
    python -m gan_lessons.render --dry-run --mode fast notebooks/*.ipynb   # time, don't save

Stored outputs come from full mode. The notebook metadata records a fingerprint of its code
cells and of the package source, and every claim the run checked (``gan_lessons.claims``);
``tests/test_notebook_hygiene.py`` fails when either fingerprint changed since the outputs were
rendered, or a stored claim is false, so stale pictures and contradicted sentences cannot slip in.
A false claim in full mode already stops the render with the claim's sentence.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from gan_lessons.claims import stored_claims
from gan_lessons.config import MODE_VARIABLE, MODES

PACKAGE_DIR = Path(__file__).resolve().parent
# Tooling that cannot change what a lesson computes or draws.
NOT_FINGERPRINTED = {"render.py", "course.py", "site.py", "exercises.py", "gpu_check.py"}
METADATA_KEY = "gan_lessons"


def code_fingerprint(notebook: nbformat.NotebookNode) -> str:
    """SHA-256 of the sources of all code cells, in order."""
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    return hashlib.sha256(json.dumps(sources).encode()).hexdigest()


def package_fingerprint() -> str:
    """SHA-256 of every package module a lesson can use (paths and contents)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if path.name in NOT_FINGERPRINTED:
            continue
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def execute(path: Path, mode: str = "full", cell_timeout: int | None = None) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook top to bottom in ``mode`` in a fresh kernel; return it and the seconds taken.

    The kernel's file-descriptor capture is off, so C++ log lines of TensorFlow never become
    stored outputs.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    notebook = nbformat.read(path, as_version=4)
    previous = os.environ.get(MODE_VARIABLE)
    os.environ[MODE_VARIABLE] = mode  # the kernel inherits this process's environment
    try:
        client = NotebookClient(
            notebook,
            timeout=cell_timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
            extra_arguments=["--IPKernelApp.capture_fd_output=False"],
            record_timing=False,
        )
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    finally:
        if previous is None:
            os.environ.pop(MODE_VARIABLE)
        else:
            os.environ[MODE_VARIABLE] = previous
    return notebook, seconds


def render(path: Path, cell_timeout: int | None = None) -> float:
    """Execute ``path`` in full mode, store outputs and fingerprints in place; return seconds."""
    package = package_fingerprint()  # taken before the run: the code the outputs come from
    notebook, seconds = execute(path, "full", cell_timeout)
    notebook.metadata[METADATA_KEY] = {
        "mode": "full",
        "code_fingerprint": code_fingerprint(notebook),
        "package_fingerprint": package,
        "render_seconds": round(seconds, 1),
        "claims": stored_claims(notebook),
    }
    nbformat.write(notebook, path)
    return seconds


def claim_problems(notebook: nbformat.NotebookNode, minimum: int = 1) -> list[str]:
    """What is wrong with the claims of a stored render: too few, a false one, or a record in the
    metadata that differs from the claims shown in the outputs (an edit by hand)."""
    recorded = notebook.metadata.get(METADATA_KEY, {}).get("claims")
    if recorded is None:
        return ["the render recorded no claims (rendered before gan_lessons.claims existed?)"]
    problems = [] if len(recorded) >= minimum else [f"{len(recorded)} claims, fewer than {minimum}"]
    if recorded != stored_claims(notebook):
        problems.append("the claims in the metadata differ from those shown in the outputs")
    problems += [f"false claim: {c['statement']}" for c in recorded if not c["holds"] or c["mode"] != "full"]
    return problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Execute lesson notebooks and store their outputs.")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--dry-run", action="store_true", help="execute and time only, write nothing")
    parser.add_argument("--mode", choices=MODES, default="full", help="lesson mode for --dry-run")
    parser.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell (default: none)")
    args = parser.parse_args(argv)
    if args.mode != "full" and not args.dry_run:
        parser.error("stored outputs must come from full mode; use --dry-run to time fast mode")
    for path in args.notebooks:
        if not path.is_file():
            parser.error(f"no such notebook: {path}")
        if args.dry_run:
            _, seconds = execute(path, args.mode, args.cell_timeout)
        else:
            seconds = render(path, args.cell_timeout)
        print(f"{path.name}: {args.mode} mode, {seconds:.1f} s{'' if args.dry_run else ', outputs stored'}")


if __name__ == "__main__":
    main()
