"""The website: built by one call from the committed notebooks, then opened page by page in a real
headless Chromium with no network — figures decoded, maths typeset, no broken internal link."""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from browser import Browser, find_chromium

from gan_lessons import site

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = Path(os.environ.get("GAN_LESSONS_TEST_OUTPUT", REPO / "test-output")) / "site"
MATHJAX_DONE = ("window.MathJax !== undefined && MathJax.isReady === true && MathJax.Hub.queue.pending === 0"
                " && !MathJax.Hub.queue.running")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    return out, site.build(out)


def test_one_call_builds_an_index_and_a_page_per_lesson(built):
    out, pages = built
    lessons = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert [page.name for page in pages] == ["index.html", *(f"{path.stem}.html" for path in lessons)]
    assert (out / "mathjax" / "MathJax.js").exists()
    index = (out / "index.html").read_text()
    for path in lessons:
        assert f'href="{path.stem}.html"' in index and f'src="figures/{path.stem}.png"' in index
    for page in pages:
        text = page.read_text()
        assert "<script src=\"http" not in text and "cdnjs" not in text  # nothing fetched from the internet


def test_lesson_links_and_navigation_point_at_pages(tmp_path):
    notebook = site.read_lesson(REPO / "notebooks" / "01_autoencoders.ipynb").notebook
    notebook.cells[0].source += "\n\nSee [lesson 02](02_variational_autoencoders.ipynb#sec) too."
    path = tmp_path / "01_autoencoders.ipynb"
    path.write_text(site.nbformat.writes(notebook))
    pages = site.build(tmp_path / "site", [path, REPO / "notebooks" / "02_variational_autoencoders.ipynb"])
    first = pages[1].read_text()
    assert 'href="02_variational_autoencoders.html#sec"' in first and 'href="index.html"' in first


def test_a_notebook_without_outputs_is_refused(tmp_path):
    path = tmp_path / "09_empty.ipynb"
    path.write_text(site.nbformat.writes(site.nbformat.v4.new_notebook(cells=[
        site.nbformat.v4.new_markdown_cell("# 09 · Empty\n\nNothing here."), site.nbformat.v4.new_code_cell("1")])))
    with pytest.raises(ValueError, match="no stored outputs: render it first"):
        site.build(tmp_path / "site", [path])


def test_every_page_shows_its_figures_maths_and_links_in_a_browser(built):
    executable = find_chromium()
    if executable is None:
        message = "no Chromium on PATH (Debian: apt install chromium; the test command installs it when it can)"
        if os.environ.get("GAN_LESSONS_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    out, pages = built
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with Browser(executable) as browser:
        for page in pages:
            lesson = page.name != "index.html"
            browser.open(page.as_uri(), settle=MATHJAX_DONE)  # the index typesets the maths in its sentences too
            images = browser.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
                                      "i.getBoundingClientRect().width])")
            assert images, f"{page.name} shows no figure"
            assert all(done and natural > 0 and shown > 0 for done, natural, shown in images), page.name
            links = browser.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
            for link in links:
                target = urlparse(link)
                if target.scheme == "file":
                    assert Path(unquote(target.path)).exists(), f"{page.name}: broken link {link}"
            typeset = browser.evaluate("document.querySelectorAll('.MathJax, .MathJax_Display').length")
            errors = browser.evaluate("document.querySelectorAll('.MathJax_Error, merror').length")
            text = browser.evaluate("document.body.innerText")
            assert typeset > 0 and errors == 0, f"{page.name}: {typeset} formulas typeset, {errors} errors"
            assert "$$" not in text and "\\frac" not in text and "$z$" not in text, f"{page.name}: raw TeX left"
            if lesson:
                assert "All lessons" in text
            if page.name in ("index.html", "03_gans.html"):
                if lesson:  # show typeset maths rather than the lesson's import cell
                    browser.evaluate("document.querySelector('.MathJax_Display').scrollIntoView() || true")
                browser.screenshot(SCREENSHOTS / page.name.replace(".html", ".png"))
    assert (SCREENSHOTS / "index.png").stat().st_size > 10_000
