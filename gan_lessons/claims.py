"""Sentences a lesson says about its own run, checked by that run (DESIGN §9).

Right after the cell that produces the evidence, a lesson states the conditions its prose relies on::

    claim(d_fake_accuracy > 0.9, f"D rejects almost every fake ({d_fake_accuracy:.0%} called fake)")

In full mode a false claim stops the render with its statement; in fast mode (tiny runs whose numbers
mean little) it is evaluated, so the code path runs, and shown as not checked. Each claim is displayed
with its outcome in the output's metadata, and ``render`` gathers them into the notebook's metadata,
where ``tests/test_notebook_hygiene.py`` fails on any false one. ``say`` turns a sentence built from
results into Markdown, so that numbers in prose come from the code.
"""

from __future__ import annotations

import numpy as np

from gan_lessons import config
from gan_lessons.plotting import show_text

OUTPUT_METADATA_KEY = "gan_lessons_claim"


class ClaimError(AssertionError):
    """A sentence of the lesson that its own run contradicts."""


def _show(text: str, markdown: str, metadata: dict | None = None) -> None:
    """In a notebook, display ``text`` as Markdown with ``metadata``; elsewhere print it."""
    if show_text(text, markdown, metadata) is None:
        print(text)


def claim(condition, statement: str) -> None:
    """Check ``condition`` (a single boolean) behind ``statement`` and show the outcome.

    Full mode: a false claim raises :class:`ClaimError`, so the render fails with the statement.
    Fast mode: it is shown as ``not checked`` and never raises.
    """
    if isinstance(condition, np.ndarray) and condition.size == 1:
        condition = condition.item()
    if not isinstance(condition, (bool, np.bool_)):
        raise TypeError(f"claim needs one True/False condition, got {type(condition).__name__}: {condition!r}")
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError("a claim needs the sentence it backs")
    holds, fast = bool(condition), config.is_fast()
    mark = "✓" if holds else ("✗ (fast mode: not checked)" if fast else "✗ FALSE")
    record = {"statement": statement, "holds": holds, "mode": config.mode()}
    _show(f"{mark} {statement}", f"{mark} *{statement}*", {OUTPUT_METADATA_KEY: record})
    if not holds and not fast:
        raise ClaimError(f"the run contradicts the lesson: {statement}")


def say(markdown: str) -> None:
    """Show prose built from results (an f-string) as Markdown, so that its numbers come from the run."""
    _show(markdown, markdown)


def stored_claims(notebook) -> list[dict]:
    """Every claim recorded in the outputs of an executed notebook, in order."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get(OUTPUT_METADATA_KEY)
            if record is not None:
                found.append(dict(record))
    return found
