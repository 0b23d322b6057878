"""Set the course up in ``.venv`` inside the repository, then open it or test it.

    python3 -m gan_lessons.course lab     # set up, then open the lessons in JupyterLab
    python3 -m gan_lessons.course test    # set up, then run every test (unit tests + notebooks + website)
    python3 -m gan_lessons.course site    # set up, then build the website into site/

Standard library only: it runs with the system Python before anything is installed. The
environment is (re)installed only when ``pyproject.toml`` changed since the last install, so a
second start takes seconds. Extra arguments go to JupyterLab or pytest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"
STAMP = VENV / ".gan-lessons-installed"
SUPPORTED = ((3, 10), (3, 12))


def venv_python() -> Path:
    """The interpreter of the course's virtual environment."""
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(command: list[str], what: str) -> None:
    print(f"[course] {what}", flush=True)
    if subprocess.run(command, cwd=REPO).returncode != 0:
        raise SystemExit(f"[course] failed: {' '.join(command)}")


def ensure_environment() -> Path:
    """Create ``.venv`` and install the course with its dev extras unless already up to date."""
    if sys.version_info[:2] < SUPPORTED[0]:
        raise SystemExit(f"[course] Python 3.10–3.12 is needed; this is {sys.version.split()[0]}")
    if sys.version_info[:2] > SUPPORTED[1]:
        print(f"[course] note: tested on Python 3.10–3.12, this is {sys.version.split()[0]}", flush=True)
    if not venv_python().exists():
        try:
            import venv  # noqa: F401  (Debian ships it separately as python3-venv)
        except ImportError:
            raise SystemExit("[course] the venv module is missing: install it, e.g. apt install python3-venv") from None
        _run([sys.executable, "-m", "venv", str(VENV)], f"creating {VENV.name}/ with {sys.executable}")
    wanted = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        python = str(venv_python())
        _run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], "updating pip")
        _run([python, "-m", "pip", "install", "--quiet", "-e", f"{REPO}[dev]"], "installing the course")
        STAMP.write_text(wanted)
    return venv_python()


BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def ensure_browser() -> None:
    """Install Debian's Chromium for the website test when it is missing and this is a root shell
    with apt; elsewhere say how (the test is then skipped, or fails where a browser is required)."""
    if any(shutil.which(name) for name in BROWSERS):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            print(f"[course] {' '.join(command)} (Chromium, for the website test)", flush=True)
            if subprocess.run(command, env=environment).returncode != 0:
                print("[course] could not install Chromium; the website test will not run", flush=True)
                return
    else:
        print("[course] no Chromium found: install it (e.g. sudo apt install chromium) to run the website test",
              flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``lab``, ``test`` or ``site``, followed by arguments for JupyterLab, pytest or the
    site builder."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("lab", "test", "site"):
        print(__doc__)
        return 2
    action, rest = args[0], args[1:]
    python = str(ensure_environment())
    if action == "lab":
        command = [python, "-m", "jupyter", "lab", f"--notebook-dir={REPO / 'notebooks'}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers often run as root
    elif action == "site":
        command = [python, "-m", "gan_lessons.site"]
    else:
        ensure_browser()
        command = [python, "-m", "pytest"]
    print(f"[course] running: {' '.join(['python', *command[1:], *rest])}", flush=True)
    return subprocess.run(command + rest, cwd=REPO).returncode


if __name__ == "__main__":
    sys.exit(main())
