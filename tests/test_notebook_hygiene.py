"""Stored notebooks are clean, come from a full-mode render, and are not stale."""

import re
from pathlib import Path

import nbformat
import pytest

from gan_lessons import render

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MACHINE_PATH = re.compile(r"(?<![\w.~])/(?:tmp|root|home|work|usr|opt|var|mnt|srv|Users)/[\w.-]+|site-packages/")
MAX_BYTES = 3_000_000


def test_the_course_has_its_first_lessons():
    names = [path.name for path in NOTEBOOKS]
    assert "00_custom_train_step.ipynb" in names and "01_autoencoders.ipynb" in names


@pytest.fixture(params=NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_outputs_come_from_a_full_render_of_the_current_code(notebook):
    path, nb = notebook
    stamp = nb.metadata.get(render.METADATA_KEY)
    hint = f"re-render: python -m gan_lessons.render notebooks/{path.name}"
    assert stamp, f"{path.name} was never rendered; {hint}"
    assert stamp["mode"] == "full"
    assert stamp["code_fingerprint"] == render.code_fingerprint(nb), f"code cells changed since the render; {hint}"
    assert stamp["package_fingerprint"] == render.package_fingerprint(), f"gan_lessons changed since the render; {hint}"


MIN_CLAIMS = 3


def test_every_stored_claim_holds(notebook):
    """The sentences that interpret a run are checked by it (gan_lessons.claims); the stored full
    render must show every one of them true, and each lesson makes several."""
    path, nb = notebook
    problems = render.claim_problems(nb, MIN_CLAIMS)
    assert not problems, f"{path.name}: {'; '.join(problems)} — fix the prose or the run, then re-render"


def test_every_code_cell_ran_once_in_order(notebook):
    _, nb = notebook
    counts = [cell.execution_count for cell in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1))


def test_no_errors_warnings_or_stderr_are_stored(notebook):
    _, nb = notebook
    for index, cell in enumerate(code_cells(nb)):
        for output in cell.outputs:
            assert output.output_type != "error", f"code cell {index} stores {output.get('ename')}"
            if output.output_type == "stream":
                assert output.name == "stdout", f"code cell {index} stores stderr: {output.text[:200]!r}"
                assert "Warning" not in output.text, f"code cell {index} prints a warning"


def test_no_machine_paths(notebook):
    _, nb = notebook
    for index, cell in enumerate(nb.cells):
        texts = [cell.source]
        for output in cell.get("outputs", []):
            texts += [output.get("text", ""), output.get("data", {}).get("text/plain", "")]
        for text in texts:
            match = MACHINE_PATH.search(text)
            assert match is None, f"cell {index} names a machine path: {match.group(0)}"


def test_notebook_stays_small(notebook):
    path, _ = notebook
    assert path.stat().st_size < MAX_BYTES


def test_fingerprint_changes_with_the_code(notebook):
    _, nb = notebook
    before = render.code_fingerprint(nb)
    code_cells(nb)[0].source += "\n# edited"
    assert render.code_fingerprint(nb) != before


def test_lesson_code_never_runs_the_modules_left_out_of_the_fingerprint(notebook):
    """Tooling (website, exercise checks, render, set-up) may change without a re-render only
    because no lesson's stored output comes from it."""
    _, nb = notebook
    modules = {name.removesuffix(".py") for name in render.NOT_FINGERPRINTED}
    used = re.compile(r"gan_lessons(?:\.|\s+import\s+(?:[\w, ]*,\s*)?)(" + "|".join(sorted(modules)) + r")\b")
    for cell in code_cells(nb):
        assert not used.search(cell.source), cell.source[:200]


def test_every_lesson_ends_with_graded_exercises_and_folded_solutions(notebook):
    """The classroom kit: 3–5 numbered exercises in the last section, each followed by a solution,
    hint or discussion that is folded (``<details>`` without ``open``) until the student opens it."""
    _, nb = notebook
    markdown = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    section = markdown[markdown.rindex("· Exercises"):]
    exercises = re.findall(r"^\*\*(\d)\.", section, re.M)
    assert 3 <= len(exercises) <= 5 and exercises == [str(i) for i in range(1, len(exercises) + 1)]
    blocks = re.split(r"^\*\*\d\.", section, flags=re.M)[1:]
    for number, block in zip(exercises, blocks):
        assert "<details><summary>" in block, f"exercise {number} has no folded solution, hint or discussion"
    assert "<details open" not in section
