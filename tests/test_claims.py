"""Claims: a false one stops a full render, fast mode only reports it, and stored renders are checked."""

import nbformat
import numpy as np
import pytest

from gan_lessons import claims, config, render


def test_a_true_claim_is_shown_with_a_tick(monkeypatch, capsys):
    monkeypatch.setenv(config.MODE_VARIABLE, "full")
    claims.claim(np.float64(0.95) > 0.9, "D rejects almost every fake")
    assert capsys.readouterr().out.strip() == "✓ D rejects almost every fake"


def test_a_false_claim_fails_in_full_mode(monkeypatch):
    monkeypatch.setenv(config.MODE_VARIABLE, "full")
    with pytest.raises(claims.ClaimError, match="D rejects almost every fake"):
        claims.claim(0.4 > 0.9, "D rejects almost every fake")


def test_a_false_claim_is_reported_but_does_not_fail_in_fast_mode(monkeypatch, capsys):
    monkeypatch.setenv(config.MODE_VARIABLE, "fast")
    claims.claim(False, "all ten classes")
    assert "not checked" in capsys.readouterr().out


@pytest.mark.parametrize("condition", [np.array([True, False]), 0.93, "yes", None])
def test_a_claim_needs_one_boolean(condition):
    with pytest.raises(TypeError, match="one True/False"):
        claims.claim(condition, "anything")


def test_a_claim_needs_its_sentence():
    with pytest.raises(ValueError, match="sentence"):
        claims.claim(True, "  ")


def _rendered(*conditions: str) -> nbformat.NotebookNode:
    """A notebook as a full render leaves it, with one claim cell per condition."""
    nb = nbformat.v4.new_notebook()
    records = []
    for index, condition in enumerate(conditions):
        record = {"statement": f"claim {index}", "holds": condition == "True", "mode": "full"}
        cell = nbformat.v4.new_code_cell(f"claim({condition}, 'claim {index}')")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "✓"},
                                               metadata={claims.OUTPUT_METADATA_KEY: record})]
        nb.cells.append(cell)
        records.append(record)
    nb.metadata[render.METADATA_KEY] = {"claims": records}
    return nb


def test_stored_renders_with_true_claims_pass():
    assert render.claim_problems(_rendered("True", "True"), minimum=2) == []


def test_a_stored_false_claim_is_caught():
    assert render.claim_problems(_rendered("True", "False")) == ["false claim: claim 1"]


def test_too_few_or_edited_claims_are_caught():
    nb = _rendered("True")
    assert render.claim_problems(nb, minimum=2) == ["1 claims, fewer than 2"]
    nb.metadata[render.METADATA_KEY]["claims"][0]["statement"] = "edited by hand"
    assert "differ from those shown" in render.claim_problems(nb)[0]
    del nb.metadata[render.METADATA_KEY]["claims"]
    assert "no claims" in render.claim_problems(nb)[0]


@pytest.fixture
def claim_notebook(tmp_path):
    def write(condition: str):
        nb = nbformat.v4.new_notebook()
        source = f"from gan_lessons.claims import claim\nclaim({condition}, 'two is two')"
        nb.cells = [nbformat.v4.new_code_cell(source)]
        path = tmp_path / "claims.ipynb"
        nbformat.write(nb, path)
        return path
    return write


def test_a_full_render_records_its_claims(claim_notebook):
    path = claim_notebook("2 == 2")
    render.render(path)
    stored = nbformat.read(path, as_version=4)
    record = {"statement": "two is two", "holds": True, "mode": "full"}
    assert stored.metadata[render.METADATA_KEY]["claims"] == [record]
    assert render.claim_problems(stored) == []


def test_a_full_render_stops_on_a_false_claim_and_keeps_the_old_notebook(claim_notebook):
    path = claim_notebook("2 == 3")
    before = path.read_text()
    with pytest.raises(Exception, match="two is two"):
        render.render(path)
    assert path.read_text() == before
