"""The whole course runs with no network: every lesson, in fast mode, with Python's sockets disabled."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MARKER = "NETWORK ACCESS ATTEMPTED"

# Runs before the lesson's code: any attempt to resolve a name or open a connection is refused
# *and* reported, so that code which catches the error and falls back cannot hide the attempt.
GUARD = f'''
import socket, sys

def _refuse(*args, **kwargs):
    print("{MARKER}:", args[:2], file=sys.stderr, flush=True)
    raise OSError("network disabled by the offline test")

socket.socket.connect = socket.socket.connect_ex = _refuse
socket.create_connection = socket.getaddrinfo = socket.gethostbyname = _refuse
'''


def run_offline(code: str, tmp_path: Path, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``code`` after the guard, in fast mode, under IPython (so that display() and display
    handles behave as in a notebook)."""
    script = tmp_path / "lesson.py"
    script.write_text(GUARD + "\n" + code)
    environment = {**os.environ, "GAN_LESSONS_MODE": "fast", "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor", str(script)]
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=600)


def test_the_guard_notices_an_attempt_even_when_the_code_swallows_the_error(tmp_path):
    code = "import urllib.request\ntry:\n    urllib.request.urlopen('http://example.com')\nexcept OSError:\n    pass"
    result = run_offline(code, tmp_path, tmp_path)
    assert result.returncode == 0 and MARKER in result.stderr


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_the_lesson_runs_with_the_network_disabled(notebook, tmp_path):
    cells = json.loads(notebook.read_text())["cells"]
    code = "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    result = run_offline(code, tmp_path, notebook.parent)
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0 and "Traceback" not in result.stdout + result.stderr, output
    assert MARKER not in result.stderr, output
