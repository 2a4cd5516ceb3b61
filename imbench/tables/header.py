"""The provenance header every output starts with: title, commands, profile, commits, hardware, empty rows."""
from __future__ import annotations

from typing import Iterable

from imbench.tables.model import Table

MAX_COMMANDS = 5


def _distinct(values: Iterable) -> list:
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def commits_text(records: list[dict]) -> str:
    """Distinct commits of the runs, '(dirty)' where some run had uncommitted changes."""
    commits = _distinct((r.get("git") or {}).get("commit") for r in records)
    parts = []
    for c in commits:
        dirty = any((r.get("git") or {}).get("dirty") for r in records if (r.get("git") or {}).get("commit") == c)
        parts.append(f"{c or 'unknown (not a git checkout)'}{' (dirty)' if dirty else ''}")
    return ", ".join(parts) or "none"


def hardware_text(records: list[dict]) -> str:
    """Distinct host / device (/ GPU) of the runs."""
    seen = _distinct(((r.get("hardware") or {}).get("host"), (r.get("hardware") or {}).get("device"),
                      (r.get("hardware") or {}).get("gpu")) for r in records)
    return "; ".join(f"{h} (device {d}{', ' + g if g else ''})" for h, d, g in seen) or "none"


def counts_text(counts: list[int]) -> str:
    if not counts:
        return "no cell has runs"
    lo, hi = min(counts), max(counts)
    return f"{lo}" if lo == hi else f"{lo} to {hi} (varies by cell; see the n columns of the CSV)"


def header_lines(table: Table, experiment: str, profile: str, records: list[dict], generated_by: str) -> list[str]:
    """Plain header lines (each output format adds its own comment prefix)."""
    commands = _distinct(r.get("command") for r in records if r.get("command"))
    lines = [
        table.title,
        f"Experiment: {experiment}; profile: {profile}",
        f"Made by: {generated_by}",
        "Runs made by: " + ("; ".join(commands[:MAX_COMMANDS]) if commands else "no runs")
        + (f" (+{len(commands) - MAX_COMMANDS} more)" if len(commands) > MAX_COMMANDS else ""),
        f"Git commit(s) of the runs: {commits_text(records)}",
        f"Hardware: {hardware_text(records)}",
        f"Runs per cell: {counts_text(table.cell_counts)}; {len(records)} finished runs in total",
    ]
    if table.empty:
        lines.append("Empty rows:")
        lines += [f"  - {label}: {reason}" for label, reason in table.empty.items()]
    else:
        lines.append("Empty rows: none")
    lines += table.notes
    return lines
