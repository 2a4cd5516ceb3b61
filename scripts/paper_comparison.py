"""What the ``compare_*.py`` scripts share: their command line, the finished records of one paper
experiment and profile, and the provenance lines of their header."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imbench.records import iter_records  # noqa: E402


@dataclass(frozen=True)
class ComparisonRun:
    """The parsed command line and the records it selects."""

    out_dir: str
    profile: str
    out: str | None
    records: list[dict]


def load_comparison(description: str, experiment: str) -> ComparisonRun:
    """Parse ``OUT_DIR [--profile P] [--out FILE]`` and read every finished ``experiment`` record of the
    profile under OUT_DIR; exit with a message when there is none."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out_dir")
    p.add_argument("--profile", default="paper")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    records = [r for r in iter_records(a.out_dir, experiment) if r["config"]["profile"]["name"] == a.profile]
    if not records:
        raise SystemExit(f"no finished {experiment} records of profile {a.profile} under {a.out_dir}")
    return ComparisonRun(a.out_dir, a.profile, a.out, records)


def provenance_lines(records: list[dict]) -> list[str]:
    """Markdown bullets: run count, commits, hardware, then each distinct command."""
    commits = sorted({str(r["git"].get("commit"))[:12] + (" (dirty)" if r["git"].get("dirty") else "") for r in records})
    hosts = sorted({f"{r['hardware'].get('processor')} ×{r['hardware'].get('cpu_count')} cores, "
                    f"{r['hardware'].get('torch_threads')} torch threads, {r['hardware'].get('device')}" for r in records})
    classifiers = sorted({str((r["config"].get("classifier") or {}).get("name")) for r in records})
    return [f"- runs: {len(records)}; commits: {', '.join(commits)}; hardware: {'; '.join(hosts)}; "
            f"classifier config: {', '.join(classifiers)}",
            *(f"- command: `{c}`" for c in sorted({r["command"] for r in records}))]


def ours_cell(values) -> str:
    """Mean ± std (ddof 1) of a pandas Series of per-run values; the mean alone for one run."""
    if len(values) > 1:
        return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"
    return f"{values.mean():.3f}"


def beside_paper(values, paper, key: str, decimals: int, flag_above: float = 0.03) -> list[str]:
    """Three table cells for metric ``key``: ours (:func:`ours_cell`), the paper's ``key`` ± ``key_std``
    from the row ``paper`` (None: not in the paper) and the difference, flagged ⚑ above ``flag_above``."""
    if paper is None:
        return [ours_cell(values), "—", "—"]
    d = values.mean() - paper[key]
    return [ours_cell(values), f"{paper[key]:.{decimals}f} ± {paper[key + '_std']:.{decimals}f}",
            f"{d:+.3f}" + (" ⚑" if abs(d) > flag_above else "")]


def write_text(text: str, out: str | None) -> None:
    """Print the comparison and, with ``--out``, write it there."""
    print(text)
    if out:
        Path(out).write_text(text)
