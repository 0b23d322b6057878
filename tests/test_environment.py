"""Set-up files agree with each other: the conda route installs what pyproject.toml declares,
and CI runs the README's test command."""

import re
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest depends on tomli on Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def normalise(requirement: str) -> str:
    return re.sub(r"\s+", "", requirement).lower()


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {normalise(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    listed = {normalise(r) for r in pip_section if not r.startswith("-e")}
    assert listed == declared
    assert "-e .[dev]" in pip_section, "the conda route must install this package with its dev extras"


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    command = "python3 -m gan_lessons.course test"
    assert command in readme and command in ci
    assert "python3 -m gan_lessons.course lab" in readme


def test_course_command_explains_itself_when_called_wrongly(capsys):
    from gan_lessons import course

    assert course.main([]) == 2
    assert course.main(["serve"]) == 2
    assert "python3 -m gan_lessons.course test" in capsys.readouterr().out
