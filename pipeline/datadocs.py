"""Data Docs: each validation's Great Expectations result as HTML.

GX's own renderers turn a validation result into a page; the pages of a run
land in ``out/<ds>/data_docs/<source>.html`` with an ``index.html`` that links
them, so the run summary has one place to point at. The validate tasks run in
parallel, so each writes only its own page; the index is written once, after
them (by the write-back stage, or by ``fusionloop validate``).
"""

from __future__ import annotations

import html
from pathlib import Path

from pipeline import io
from pipeline.settings import Settings


def docs_dir(settings: Settings, ds: str) -> Path:
    """Folder of the run's Data Docs."""
    return settings.out_dir(ds) / "data_docs"


def write_page(settings: Settings, ds: str, source: str, result) -> str:
    """Render ``result`` (a GX suite validation result); returns the page's path."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    page = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(result))
    return str(io.write_text(page, docs_dir(settings, ds) / f"{source}.html"))


def forget_page(settings: Settings, ds: str, source: str) -> None:
    """Drop an earlier run's page of ``source``: a stopped source must not show one."""
    (docs_dir(settings, ds) / f"{source}.html").unlink(missing_ok=True)


def write_index(settings: Settings, ds: str) -> Path:
    """(Re)write ``index.html`` linking every source page of the run."""
    folder = docs_dir(settings, ds)
    links = "\n".join(
        f'<li><a href="{html.escape(p.name)}">{html.escape(p.stem)}</a></li>'
        for p in sorted(folder.glob("*.html"))
        if p.name != "index.html"
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>FusionLoop data "
        f"docs {ds}</title></head><body><h1>Validation results for {ds}</h1>"
        f"<p>One page per source validated in this run (Great Expectations).</p>"
        f"<ul>\n{links}\n</ul></body></html>\n"
    )
    return io.write_text(page, folder / "index.html")
