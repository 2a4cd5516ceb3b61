"""Every number committed under ``results/`` says where it came from.

A Markdown output names its command and commit near its top; a CSV stays plain (``pandas.read_csv``
loads it as is) and carries the same facts in a sidecar: ``<stem>.provenance.json`` (tables, reports) or
the ``<stem>.md`` caption of the figure it belongs to.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[1] / "results"
NAMES_ITS_ORIGIN = re.compile(r"made by|command|commit", re.IGNORECASE)
HEAD_CHARS = 2000  # a reader (or a reviewer's script) looks at the top of the file, not its end


def _names_origin(path: Path) -> bool:
    return path.is_file() and bool(NAMES_ITS_ORIGIN.search(path.read_text(errors="replace")[:HEAD_CHARS]))


def _sidecars(csv: Path) -> list[Path]:
    stem = csv.with_suffix("")
    owners = [stem, stem.with_name(re.sub(r"_scores$", "", stem.name))]  # a profile's scores belong to it
    return [s.with_name(s.name + ext) for s in owners for ext in (".provenance.json", ".md")]


@pytest.mark.parametrize("md", sorted(RESULTS.rglob("*.md")), ids=lambda p: str(p.relative_to(RESULTS)))
def test_a_markdown_result_names_its_command_or_commit_near_its_top(md):
    assert _names_origin(md), f"{md} does not name its command or commit in its first {HEAD_CHARS} characters"


@pytest.mark.parametrize("csv", sorted(RESULTS.rglob("*.csv")), ids=lambda p: str(p.relative_to(RESULTS)))
def test_a_csv_result_has_its_provenance_in_itself_or_a_sidecar(csv):
    assert _names_origin(csv) or any(_names_origin(s) for s in _sidecars(csv)), (
        f"{csv} carries no command/commit, and none of {[s.name for s in _sidecars(csv)]} does")


def test_the_check_catches_a_result_without_provenance(tmp_path):
    bare = tmp_path / "t.csv"
    bare.write_text("method,score\nsmote,0.9\n")
    assert not _names_origin(bare) and not any(_names_origin(s) for s in _sidecars(bare))
    (tmp_path / "t.md").write_text("# T\n\n" + "x" * HEAD_CHARS + "\nMade by: python -m imbench.tables t\n")
    assert not _names_origin(tmp_path / "t.md")  # named, but past the top
    (tmp_path / "t.provenance.json").write_text('{"command": "python -m imbench.tables t"}')
    assert any(_names_origin(s) for s in _sidecars(bare))
