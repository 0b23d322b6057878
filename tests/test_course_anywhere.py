"""The course one step off the README's path: a wheel installed elsewhere, another Jupyter, a
Python without the course's packages, Ctrl-C on the course command."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest

from gan_lessons import course

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
BUNDLED = {"digits.npz", "classifier.weights.h5", "classifier.json"}


def _clean_environment(tmp_path: Path) -> dict:
    """This process's environment with Jupyter's folders in ``tmp_path`` (nothing written to the
    user's) and no data-folder override."""
    environment = {key: value for key, value in os.environ.items() if key != "GAN_LESSONS_DATA"}
    for kind in ("DATA", "RUNTIME", "CONFIG"):
        environment[f"JUPYTER_{kind}_DIR"] = str(tmp_path / f"jupyter-{kind.lower()}")
    return environment


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_lesson_names_the_course_kernel_and_guards_its_first_cell(path):
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata.kernelspec.name == course.KERNEL_NAME
    assert notebook.metadata.kernelspec.display_name == course.KERNEL_DISPLAY_NAME
    first = next(cell for cell in notebook.cells if cell.cell_type == "code").source
    assert first.startswith("try:") and "\n    import gan_lessons  # noqa: F401" in first
    assert "\nexcept ModuleNotFoundError:\n    raise ModuleNotFoundError(" in first


def test_a_kernel_without_the_package_is_told_in_one_line_what_to_do(tmp_path):
    first = next(cell for cell in nbformat.read(NOTEBOOKS[1], as_version=4).cells if cell.cell_type == "code")
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    run = subprocess.run([sys.executable, "-S", "-c", first.source], cwd=tmp_path, env=environment,
                         capture_output=True, text=True)
    assert run.returncode != 0
    assert run.stderr.splitlines()[-1] == (
        'ModuleNotFoundError: this kernel has no gan_lessons: choose the kernel "Python (gan-lessons)", or install '
        "the course (README: Start in one command; on a hosted notebook: pip install it)")


def test_the_package_names_what_this_python_lacks_and_the_fix(tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(REPO)}  # the package, but none of its requirements (-S)
    run = subprocess.run([sys.executable, "-S", "-c", "import gan_lessons"], cwd=tmp_path, env=environment,
                         capture_output=True, text=True)
    last = run.stderr.splitlines()[-1]
    assert last.startswith("ImportError: gan_lessons needs numpy, keras, tensorflow, matplotlib, IPython, which this "
                           f"Python ({sys.executable}) does not have")
    assert course.KERNEL_DISPLAY_NAME in last and "python3 -m gan_lessons.course lab" in last
    # the set-up command itself needs only the standard library, so it still starts
    started = subprocess.run([sys.executable, "-S", "-m", "gan_lessons.course"], cwd=tmp_path, env=environment,
                             capture_output=True, text=True)
    assert started.returncode == 2 and "python3 -m gan_lessons.course lab" in started.stdout, started.stderr
    assert started.stderr == ""


def test_the_course_command_runs_from_any_folder_by_its_path(tmp_path):
    run = subprocess.run([sys.executable, str(REPO / "gan_lessons" / "course.py")], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 2 and "python3 -m gan_lessons.course lab" in run.stdout and run.stderr == ""


def test_set_up_registers_the_course_kernel_and_keeps_it(tmp_path, monkeypatch):
    for key, value in _clean_environment(tmp_path).items():
        monkeypatch.setenv(key, value)
    for _ in range(2):  # registering again replaces, never duplicates
        course.register_kernel(Path(sys.executable))
    kernels = tmp_path / "jupyter-data" / "kernels"
    assert [path.name for path in kernels.iterdir()] == [course.KERNEL_NAME]
    spec = json.loads((kernels / course.KERNEL_NAME / "kernel.json").read_text())
    assert spec["display_name"] == course.KERNEL_DISPLAY_NAME and spec["argv"][0] == sys.executable


def test_the_gpu_flag_installs_the_cuda_extra_and_requires_a_gpu_of_the_tests(monkeypatch):
    chosen, ran = [], []
    monkeypatch.setattr(course, "ensure_environment",
                        lambda extras="dev": chosen.append(extras) or Path(sys.executable))
    monkeypatch.setattr(course, "ensure_browser", lambda: None)
    monkeypatch.setattr(course, "run_to_the_end", lambda command, stop: ran.append(command) or 0)
    monkeypatch.setenv(course.REQUIRE_GPU_VARIABLE, "0")  # monkeypatch restores the value (or its absence) after
    for name in course.GPU_ENVIRONMENT:
        monkeypatch.delenv(name)  # as in a shell that never imported gan_lessons
    assert course.main(["test", "-x"]) == 0 and chosen == ["dev"]
    assert os.environ[course.REQUIRE_GPU_VARIABLE] == "0"
    assert all(os.environ[name] == value for name, value in course.GPU_ENVIRONMENT.items())  # for every child
    assert course.main(["test", "--gpu", "-x"]) == 0 and chosen[-1] == "dev,gpu"
    assert os.environ[course.REQUIRE_GPU_VARIABLE] == "1" and ran[-1][-2:] == ["pytest", "-x"]  # --gpu is not pytest's
    monkeypatch.setattr(course.sys, "platform", "darwin")
    with pytest.raises(SystemExit, match="Linux only"):
        course.main(["lab", "--gpu"])


def test_set_up_without_a_reachable_registry_stops_with_the_cause_and_the_fix(tmp_path, monkeypatch):
    offline_python = tmp_path / "venv" / "bin" / "python"  # a pip that cannot reach PyPI, as on a machine offline
    offline_python.parent.mkdir(parents=True)
    offline_python.write_text("#!/bin/sh\necho 'Failed to establish a new connection' >&2\nexit 1\n")
    offline_python.chmod(0o755)
    monkeypatch.setattr(course, "VENV", tmp_path / "venv")
    monkeypatch.setattr(course, "STAMP", tmp_path / "venv" / "stamp")
    with pytest.raises(SystemExit) as stopped:
        course.ensure_environment()
    assert "pip install" in str(stopped.value) and "registry is out of reach" in str(stopped.value)


def test_an_environment_with_the_gpu_extra_serves_a_plain_start_without_reinstalling():
    assert course.installed_enough("abc [dev,gpu]", "abc", "dev")
    assert course.installed_enough("abc [dev]", "abc", "dev")
    assert not course.installed_enough("abc [dev]", "abc", "dev,gpu")
    assert not course.installed_enough("old [dev,gpu]", "abc", "dev")
    assert not course.installed_enough("abc", "abc", "dev")  # a stamp from before extras were recorded


def test_lab_settings_are_ones_the_installed_jupyterlab_knows(tmp_path):
    path = course.write_lab_settings(tmp_path)
    assert path == tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / "gan-lessons.json"
    schemas = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"
    for plugin, values in json.loads(path.read_text()).items():
        package, name = plugin.split(":")
        properties = json.loads((schemas / package / f"{name}.json").read_text())["properties"]
        for key, value in values.items():
            allowed = [option["const"] for option in properties[key].get("oneOf", [])]
            assert value in allowed if allowed else isinstance(value, bool)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.mark.skipif(os.name != "posix", reason="Ctrl-C is a signal to the terminal's process group on POSIX")
def test_course_lab_opens_on_the_repository_quietly_and_stops_cleanly_on_ctrl_c(tmp_path):
    port, token = _free_port(), "course-test"
    environment = _clean_environment(tmp_path)
    log = (tmp_path / "lab.log").open("w+")
    # its own process group, as a terminal's foreground job: Ctrl-C is SIGINT to the whole group
    lab = subprocess.Popen([sys.executable, "-m", "gan_lessons.course", "lab", "--no-browser", f"--port={port}",
                            f"--IdentityProvider.token={token}"], cwd=tmp_path, env=environment,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                _get_json(f"{base}/api/status?token={token}")
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("JupyterLab did not start:\n" + log.read())
        names = {item["name"] for item in _get_json(f"{base}/api/contents?token={token}")["content"]}
        assert {"README.md", "TEACHING.md", "notebooks"} <= names  # rooted in the repository
        news = _get_json(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}")
        defaults = news["schema"]["properties"]  # the course's overrides are the defaults of its lab
        assert defaults["fetchNews"]["default"] == "false"  # no "get notified about Jupyter news?" pop-up
        runtime = Path(environment["JUPYTER_RUNTIME_DIR"])
        assert list(runtime.glob("jpserver-*.json"))
        os.killpg(lab.pid, signal.SIGINT)
        assert lab.wait(timeout=60) in (0, 130)
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGKILL)
    log.seek(0)
    output = log.read()
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert "[course] stopped" in output
    assert not list(runtime.glob("jpserver-*")), "JupyterLab left its runtime files behind"


def test_a_wheel_carries_the_data_and_runs_lessons_from_an_unrelated_folder(tmp_path):
    source = tmp_path / "source"  # build from a copy: the checkout gets no build/ or egg-info
    shutil.copytree(REPO / "gan_lessons", source / "gan_lessons", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path / "dist"), str(source)], check=True)
    wheel = next((tmp_path / "dist").glob("gan_lessons-*.whl"))
    carried = {Path(name).name for name in zipfile.ZipFile(wheel).namelist() if "/bundled/" in name}
    assert carried == BUNDLED

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], check=True)
    # the requirements (TensorFlow & co.) from this environment, without its editable gan_lessons
    venv_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip()
    (Path(venv_site) / "requirements-from-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "unrelated folder"
    elsewhere.mkdir()
    lessons = [shutil.copy(path, elsewhere) for path in NOTEBOOKS[:2]]
    environment = _clean_environment(tmp_path)
    where = subprocess.run([str(python), "-c", "import gan_lessons; print(gan_lessons.__file__)"], cwd=elsewhere,
                           env=environment, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(venv)), where
    run = subprocess.run([str(python), "-m", "gan_lessons.render", "--dry-run", "--mode", "fast", *lessons],
                         cwd=elsewhere, env=environment, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    # the set-up command belongs to a clone; from an installed package it says what to do instead
    setup = subprocess.run([str(python), "-m", "gan_lessons.course", "lab"], cwd=elsewhere, env=environment,
                           capture_output=True, text=True)
    assert setup.returncode != 0 and "gan_lessons.course kernel" in setup.stderr, setup.stderr
