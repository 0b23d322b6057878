"""Build the course as a static website from the committed, full-mode notebooks.

    python -m gan_lessons.site              # writes site/ (open site/index.html)
    python -m gan_lessons.site --out DIR

Each lesson becomes a page through nbconvert's HTML exporter (JupyterLab's look), with its stored
outputs, a navigation bar (previous lesson, all lessons, next lesson) and links between lessons
pointing at pages. Maths is typeset by a local copy of MathJax (from the
``jupyter-server-mathjax`` package), so the site works offline and from ``file://``. The index
lists the lessons in order, each with its title, its first sentence and its first figure.
"""

from __future__ import annotations

import argparse
import base64
import html
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import jupyter_server_mathjax
import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
TEMPLATES = Path(__file__).resolve().parent / "site_templates"
MATHJAX_URL = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
LESSON_LINK = re.compile(r"\]\((\d\d_[\w-]+)\.ipynb(#[^)]*)?\)")


@dataclass
class Lesson:
    """One notebook and what the index says about it."""

    path: Path
    notebook: nbformat.NotebookNode
    title: str
    sentence: str
    figure_png: bytes | None

    @property
    def page(self) -> str:
        return f"{self.path.stem}.html"


def read_lesson(path: Path) -> Lesson:
    """A lesson's title (the heading of its first cell), first sentence (of the paragraph under the
    heading) and first stored figure; a notebook without them or without outputs is an error."""
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0] if notebook.cells else None
    heading, _, rest = first.source.partition("\n") if first and first.cell_type == "markdown" else ("", "", "")
    if not heading.startswith("# ") or not rest.strip():
        raise ValueError(f"{path.name}: the first cell must be markdown: '# title', then a paragraph")
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if not any(cell.get("outputs") for cell in code):
        raise ValueError(f"{path.name} has no stored outputs: render it first (python -m gan_lessons.render)")
    paragraph = rest.strip().split("\n\n", 1)[0]
    sentence = re.split(r"(?<=[.!?])\s", " ".join(paragraph.split()), maxsplit=1)[0]
    figure = next((output["data"]["image/png"] for cell in code for output in cell.outputs
                   if "image/png" in output.get("data", {})), None)
    return Lesson(path, notebook, heading[2:].strip(), sentence, base64.b64decode(figure) if figure else None)


def _navigation(lessons: list[Lesson], index: int) -> str:
    """The markdown bar above and below a lesson: previous · all lessons · next."""
    parts = []
    if index > 0:
        parts.append(f"[← {lessons[index - 1].title}]({lessons[index - 1].page})")
    parts.append("[All lessons](index.html)")
    if index + 1 < len(lessons):
        parts.append(f"[{lessons[index + 1].title} →]({lessons[index + 1].page})")
    return " · ".join(parts)


def lesson_page(lessons: list[Lesson], index: int, exporter: HTMLExporter) -> str:
    """The HTML page of one lesson: links to other lessons retargeted to their pages, navigation
    added at the top and the bottom."""
    notebook = nbformat.from_dict(lessons[index].notebook)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = LESSON_LINK.sub(lambda m: f"]({m.group(1)}.html{m.group(2) or ''})", cell.source)
    bar = _navigation(lessons, index)
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(bar))
    notebook.cells.append(nbformat.v4.new_markdown_cell(bar))
    notebook.metadata["title"] = lessons[index].title
    body, _ = exporter.from_notebook_node(notebook)
    return body


def _inline_markdown(text: str) -> str:
    """One line of markdown (code, emphasis) as HTML without the paragraph around it."""
    return markdown2html_mistune(text).strip().removeprefix("<p>").removesuffix("</p>")


def index_page(lessons: list[Lesson]) -> str:
    """The front page: every lesson in order with its title, first sentence and first figure."""
    items = []
    for lesson in lessons:
        figure = (f'<img src="figures/{lesson.path.stem}.png" alt="first figure of {html.escape(lesson.title)}">'
                  if lesson.figure_png else "")
        items.append(f'<li><a href="{lesson.page}"><h2>{_inline_markdown(lesson.title)}</h2></a>'
                     f"<p>{_inline_markdown(lesson.sentence)}</p>{figure}</li>")
    page = (TEMPLATES / "index.html").read_text().replace("{{ mathjax }}", MATHJAX_URL)
    return page.replace("{{ lessons }}", "\n".join(items))


def build(out: Path, notebooks: list[Path] | None = None) -> list[Path]:
    """Write the site into ``out`` (replacing it) and return the pages written."""
    paths = notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no lessons found in {NOTEBOOKS}")
    lessons = [read_lesson(path) for path in paths]
    if out.exists():
        shutil.rmtree(out)
    (out / "figures").mkdir(parents=True)
    shutil.copytree(Path(jupyter_server_mathjax.__file__).parent / "static", out / "mathjax")
    exporter = HTMLExporter(template_name="gan_lessons", extra_template_basedirs=[str(TEMPLATES)])
    exporter.mathjax_url = MATHJAX_URL
    pages = []
    for index, lesson in enumerate(lessons):
        if lesson.figure_png:
            (out / "figures" / f"{lesson.path.stem}.png").write_bytes(lesson.figure_png)
        pages.append(out / lesson.page)
        pages[-1].write_text(lesson_page(lessons, index, exporter), encoding="utf-8")
    (out / "index.html").write_text(index_page(lessons), encoding="utf-8")
    return [out / "index.html", *pages]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "site"), help="folder to write the site into (replaced)")
    args = parser.parse_args(argv)
    pages = build(Path(args.out))
    print(f"wrote {len(pages)} pages to {args.out}; open {Path(args.out) / 'index.html'}")


if __name__ == "__main__":
    main()
