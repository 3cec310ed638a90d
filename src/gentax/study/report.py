"""A study's results.json -> report.md (+ report_files/*.png) and a self-contained report.html.

Every number is computed from results.json (sections.py for any study, paper_tables.py for the
paper's tables) and printed by formatting.py, so a value has the same rounding wherever it
appears. docs/report.md lists the sections and how each number is computed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from gentax.files import write_atomic
from gentax.study import aggregate as agg
from gentax.study import sections
from gentax.study.aggregate import Start
from gentax.study.document import Document, Heading, Image, Paragraph, to_html, to_markdown
from gentax.study.paper_tables import paper_tables_section
from gentax.study.results import load_results

FILES_DIR = "report_files"  # the PNGs report.md links to (report.html embeds them)

__all__ = ["FILES_DIR", "Start", "build_document", "build_report"]


def build_document(results: dict, digest: str, starts: list[Start] | None = None) -> Document:
    """The report of a validated results.json. `starts`: the study's starting points (two or more
    give the paper's table 6); results.json does not record them yet."""
    before = agg.baseline_pct(results)
    base = agg.baseline_measured(results)
    groups = agg.groups(results)
    comps = agg.comparisons(groups)
    doc = Document(f"gentax study report: {results['name']}")
    sections.source_section(doc, results, digest)
    sections.summary_section(doc, results, groups, before, base, comps)
    sections.baseline_section(doc, results)
    sections.runs_section(doc, results)
    paper_tables_section(doc, results, groups, before, base, starts)
    doc.add(Heading("Train × eval success"))
    if not groups:
        doc.add(Paragraph("No run has been evaluated yet."))
    for i, g in enumerate(groups):
        sections.matrix_section(doc, results, g, before, base, ref=i == 0)
    sections.other_starts_section(doc, results)
    sections.profiles_section(doc, results, groups[0] if groups else None, before, base)
    sections.curves_section(doc, results)
    sections.variants_section(doc, comps)
    sections.examples_section(doc, results)
    sections.cells_section(doc, results)
    sections.config_section(doc, results)
    return doc


def build_report(study_dir: str | Path, starts: list[Start] | None = None) -> tuple[Path, Path]:
    """Read study_dir/results.json; write report.md (+ report_files/) and report.html there."""
    study_dir = Path(study_dir)
    source = study_dir / "results.json"
    results = load_results(source)  # raises ResultsError with the reason
    doc = build_document(results, hashlib.sha256(source.read_bytes()).hexdigest(), starts)
    files = study_dir / FILES_DIR
    files.mkdir(exist_ok=True)
    for old in files.glob("*.png"):  # pictures of an earlier build that may no longer apply
        old.unlink()
    for block in doc.blocks:
        if isinstance(block, Image):
            write_atomic(files / block.name, block.png)
    md_path, html_path = study_dir / "report.md", study_dir / "report.html"
    write_atomic(md_path, to_markdown(doc, FILES_DIR).encode())
    write_atomic(html_path, to_html(doc).encode())
    return md_path, html_path
