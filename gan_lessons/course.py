"""Set the course up in ``.venv`` inside the repository, then open it or test it.

    python3 -m gan_lessons.course lab     # set up, then open the lessons in JupyterLab
    python3 -m gan_lessons.course test    # set up, then run every test (unit tests + notebooks + website)
    python3 -m gan_lessons.course site    # set up, then build the website into site/
    python3 -m gan_lessons.course test --gpu  # with TensorFlow's CUDA libraries (Linux + NVIDIA GPU);
                                              # the tests then fail unless TensorFlow uses the GPU
    python -m gan_lessons.course kernel   # register *this* Python as the course's Jupyter kernel
                                          # (conda or an installed wheel: no .venv involved)

Standard library only: it runs with the system Python before anything is installed. The
environment is (re)installed only when ``pyproject.toml`` or the extras changed since the last
install, so a second start takes seconds. Extra arguments go to JupyterLab or pytest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"
STAMP = VENV / ".gan-lessons-installed"
SUPPORTED = ((3, 10), (3, 12))
KERNEL_NAME, KERNEL_DISPLAY_NAME = "gan-lessons", "Python (gan-lessons)"
# JupyterLab settings for the course's own lab only (they live in .venv, not in the user's config):
# no "get notified about Jupyter news?" pop-up, no update checks.
LAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}
# Every process the course starts (pytest, lesson runs, notebook kernels) may share one GPU: TensorFlow
# then grows its memory instead of taking nearly all of it per process. The package sets it on import
# too (every lesson imports it first), so kernels of any Jupyter get it; a value already set wins.
GPU_ENVIRONMENT = {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}
REQUIRE_GPU_VARIABLE = "GAN_LESSONS_REQUIRE_GPU"  # gan_lessons.config reads it (this module stays stdlib-only)


def venv_python() -> Path:
    """The interpreter of the course's virtual environment."""
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


PIP_HINT = ("pip could not install the course's packages; its messages above say why. \"Failed to establish a "
            "new connection\" or \"No matching distribution\" means the package registry is out of reach: set-up "
            "downloads the packages once (with a proxy: set HTTPS_PROXY), then the course runs offline")


def _run(command: list[str], what: str, quiet: bool = False, hint: str = "") -> None:
    print(f"[course] {what}", flush=True)
    output = subprocess.DEVNULL if quiet else None
    if subprocess.run(command, cwd=REPO, stdout=output).returncode != 0:
        raise SystemExit(f"[course] failed: {' '.join(command)}" + (f"\n[course] {hint}" if hint else ""))


def run_to_the_end(command: list[str], stop_signal: int = signal.SIGINT) -> int:
    """Run ``command`` and return its exit code. The child runs in its own session, so Ctrl-C reaches
    only this process, which sends the child one ``stop_signal`` and waits for it: JupyterLab, sent
    SIGTERM, shuts its kernels down and removes its runtime files as it normally does. A second
    Ctrl-C kills the child."""
    child = subprocess.Popen(command, cwd=REPO, start_new_session=os.name == "posix")
    try:
        return child.wait()
    except KeyboardInterrupt:
        print("\n[course] Ctrl-C: stopping (Ctrl-C again to kill)", flush=True)
        child.send_signal(stop_signal)
    try:
        child.wait()
    except KeyboardInterrupt:
        child.kill()
        child.wait()
    print("[course] stopped", flush=True)
    return 130


def ensure_environment(extras: str = "dev") -> Path:
    """Create ``.venv`` and install the course with ``extras`` (``"dev"``, or ``"dev,gpu"``) unless already
    up to date; register its Jupyter kernel and write its lab settings."""
    if not (REPO / "pyproject.toml").is_file():
        raise SystemExit(f"[course] this command sets up a clone of the course's repository, and this gan_lessons is "
                         f"an installed package ({Path(__file__).parent}). Here, `{sys.executable} -m "
                         "gan_lessons.course kernel` registers this Python as the course's kernel; then open the "
                         "lessons with `jupyter lab`")
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
    project = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or not installed_enough(STAMP.read_text().strip(), project, extras):
        python = str(venv_python())
        _run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], "updating pip", hint=PIP_HINT)
        what = "installing the course" + (" with TensorFlow's CUDA libraries" if "gpu" in extras else "")
        _run([python, "-m", "pip", "install", "--quiet", "-e", f"{REPO}[{extras}]"], what, hint=PIP_HINT)
        STAMP.write_text(f"{project} [{extras}]")
    register_kernel(venv_python())
    write_lab_settings(VENV)
    return venv_python()


def installed_enough(stamp: str, project: str, extras: str) -> bool:
    """Whether the environment a stamp ("<pyproject hash> [extras]") describes serves a start that needs
    ``extras``: the same pyproject.toml and at least those extras (the gpu extra's packages stay
    installed, so a plain start after ``--gpu`` needs no reinstall, and no network)."""
    hash_, _, installed = stamp.partition(" [")
    return hash_ == project and bool(installed) and set(extras.split(",")) <= set(installed.rstrip("]").split(","))


def register_kernel(python: Path) -> None:
    """Register ``python`` as the Jupyter kernel "Python (gan-lessons)" for this user, so that any
    Jupyter on the machine (JupyterLab, Notebook, VS Code) runs the lessons in the course's environment;
    every lesson's kernelspec names it. Re-registering replaces it (the last set-up wins)."""
    command = [str(python), "-m", "ipykernel", "install", "--user", f"--name={KERNEL_NAME}",
               f"--display-name={KERNEL_DISPLAY_NAME}"]
    _run(command, f"registering the Jupyter kernel \"{KERNEL_DISPLAY_NAME}\"", quiet=True)


def write_lab_settings(prefix: Path) -> Path:
    """Write ``LAB_OVERRIDES`` where the JupyterLab installed under ``prefix`` reads default settings
    (its own file in ``overrides.d``, so that an ``overrides.json`` of the environment stays as it is)."""
    path = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / "gan-lessons.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(LAB_OVERRIDES, indent=2) + "\n")
    return path


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
    """Entry point: ``lab``, ``test`` or ``site`` (with ``--gpu``: the CUDA extra, and for ``test`` a
    GPU required), followed by arguments for JupyterLab, pytest or the site builder; or ``kernel``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("lab", "test", "site", "kernel"):
        print(__doc__)
        return 2
    action, rest = args[0], args[1:]
    if action == "kernel":  # only the kernel: another environment's JupyterLab settings stay its owner's
        register_kernel(Path(sys.executable))
        return 0
    gpu = "--gpu" in rest
    rest = [arg for arg in rest if arg != "--gpu"]
    for name, value in GPU_ENVIRONMENT.items():
        os.environ.setdefault(name, value)  # inherited by everything started below
    if gpu:
        if not sys.platform.startswith("linux"):
            raise SystemExit("[course] --gpu: TensorFlow's CUDA libraries exist for Linux only (on Windows, run the "
                             "course inside WSL2); without --gpu the course runs on the CPU")
        if action == "test":
            os.environ[REQUIRE_GPU_VARIABLE] = "1"  # a GPU run that falls back to the CPU fails
    python = str(ensure_environment("dev,gpu" if gpu else "dev"))
    if action == "lab":  # the file browser opens on the repository: the lessons, README and TEACHING
        command, stop = [python, "-m", "jupyter", "lab", f"--ServerApp.root_dir={REPO}"], signal.SIGTERM
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers often run as root
    elif action == "site":
        command, stop = [python, "-m", "gan_lessons.site"], signal.SIGTERM
    else:
        ensure_browser()
        command, stop = [python, "-m", "pytest"], signal.SIGINT  # pytest reports what ran, then stops
    print(f"[course] running: {' '.join(['python', *command[1:], *rest])}", flush=True)
    return run_to_the_end(command + rest, stop)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # during set-up (pip, venv): one line, no traceback
        print("\n[course] interrupted", file=sys.stderr)
        sys.exit(130)
