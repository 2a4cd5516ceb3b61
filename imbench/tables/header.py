"""Provenance of a table: title, commands, profile, commits, hardware, empty rows and why.

The Markdown and LaTeX outputs start with it as header lines (:meth:`Provenance.lines`); the CSV carries
none, so that ``pandas.read_csv(path)`` loads it as is, and the same facts go to the sidecar
``<name>.provenance.json`` beside it (:meth:`Provenance.to_json`).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Iterable

from imbench.tables.model import Table

MAX_COMMANDS = 5


@dataclass(frozen=True)
class Commit:
    """A git commit the runs were made at; ``dirty`` when some run had uncommitted changes."""
    commit: str | None
    dirty: bool


@dataclass(frozen=True)
class Machine:
    """Host, torch device and GPU name (None on CPU) some runs were made on."""
    host: str | None
    device: str | None
    gpu: str | None


@dataclass
class Provenance:
    """Where a table's numbers come from.

    Attributes
    ----------
    title, experiment, profile : str
        The table's title, its experiment and the profile of the runs collected.
    made_by : str
        The command that wrote the table.
    run_commands : list of str
        Distinct commands of the runs, in record order.
    commits : list of Commit
        Distinct commits of the runs.
    hardware : list of Machine
        Distinct machines of the runs.
    cell_counts : list of int
        Runs behind each non-empty cell.
    finished_runs : int
        Finished records collected.
    compute_s : float
        Seconds of oversampling and training summed over the runs (their records' ``timing``): what the
        table's runs cost, one after another, on the machines listed.
    empty_rows : dict
        ``{"label (method)": why the row has no numbers}``.
    failed_runs : list of str
        Runs that failed and have not finished since (their ``failed.json``), one line per method, data
        set and error: why some cells are empty or have fewer runs.
    notes, footer : list of str
        The layout's header notes and the lines printed below the table (e.g. the Friedman test).
    """

    title: str
    experiment: str
    profile: str
    made_by: str
    run_commands: list[str]
    commits: list[Commit]
    hardware: list[Machine]
    cell_counts: list[int]
    finished_runs: int
    empty_rows: dict[str, str]
    compute_s: float = 0.0
    failed_runs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Plain header lines (each output format adds its own comment prefix); the footer is not included."""
        shown = self.run_commands[:MAX_COMMANDS]
        more = len(self.run_commands) - len(shown)
        lines = [
            self.title,
            f"Experiment: {self.experiment}; profile: {self.profile}",
            f"Made by: {self.made_by}",
            "Runs made by: " + ("; ".join(shown) if shown else "no runs") + (f" (+{more} more)" if more else ""),
            f"Git commit(s) of the runs: {commits_text(self.commits)}",
            f"Hardware: {hardware_text(self.hardware)}",
            f"Runs per cell: {counts_text(self.cell_counts)}; {self.finished_runs} finished runs in total",
            f"Compute: {duration_text(self.compute_s)} of oversampling and training, summed over the runs",
        ]
        if self.empty_rows:
            lines.append("Empty rows:")
            lines += [f"  - {label}: {reason}" for label, reason in self.empty_rows.items()]
        else:
            lines.append("Empty rows: none")
        if self.failed_runs:
            lines.append("Failed runs (not finished, no numbers; the next sweep tries them again):")
            lines += [f"  - {line}" for line in self.failed_runs]
        return lines + self.notes

    def to_dict(self) -> dict:
        """JSON-ready fields; ``runs_per_cell`` is summarised as min and max (the CSV has every n)."""
        out = {}
        for key, value in asdict(self).items():
            if key == "cell_counts":
                key, value = "runs_per_cell", {"min": min(value), "max": max(value)} if value else None
            out[key] = value
        return out

    def to_json(self) -> str:
        """The sidecar file's text (UTF-8, indented)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _distinct(values: Iterable) -> list:
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def run_commits(records: list[dict]) -> list[Commit]:
    """Distinct commits of the runs, each dirty if any of its runs was."""
    gits = [r.get("git") or {} for r in records]
    return [Commit(c, any(g.get("dirty") for g in gits if g.get("commit") == c))
            for c in _distinct(g.get("commit") for g in gits)]


def run_machines(records: list[dict]) -> list[Machine]:
    """Distinct host / device / GPU of the runs."""
    hws = [r.get("hardware") or {} for r in records]
    return _distinct(Machine(hw.get("host"), hw.get("device"), hw.get("gpu")) for hw in hws)


def commits_text(commits: list[Commit]) -> str:
    """'abc (dirty), def', or 'none'."""
    parts = [f"{c.commit or 'unknown (not a git checkout)'}{' (dirty)' if c.dirty else ''}" for c in commits]
    return ", ".join(parts) or "none"


def hardware_text(machines: list[Machine]) -> str:
    """'host (device cuda, NVIDIA H100); ...', or 'none'."""
    return "; ".join(f"{m.host} (device {m.device}{', ' + m.gpu if m.gpu else ''})" for m in machines) or "none"


def run_compute_seconds(records: list[dict]) -> float:
    """Oversampling plus training seconds summed over the records (missing timings count 0).

    A fold's oversampling is done once for all its classifier repeats, and every repeat's record carries
    it: it counts once per fold fit (the records' job without its repeat, and their common start time)."""
    total, oversampled = 0.0, set()
    for r in records:
        timing = dict(r.get("timing") or {})
        job = {k: v for k, v in (r.get("job") or {}).items() if k != "repeat"}
        fit = (json.dumps([r.get("experiment"), job, r.get("config"), (r.get("hardware") or {}).get("host")],
                          sort_keys=True, default=str), r.get("started_at"))
        if fit in oversampled:
            timing.pop("oversample_s", None)
        oversampled.add(fit)
        total += sum(float(v) for v in timing.values() if isinstance(v, (int, float)))
    return total


def duration_text(seconds: float) -> str:
    """'42 s', '12.5 min' or '3.2 h'."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def counts_text(counts: list[int]) -> str:
    if not counts:
        return "no cell has runs"
    lo, hi = min(counts), max(counts)
    return f"{lo}" if lo == hi else f"{lo} to {hi} (varies by cell; see the n columns of the CSV)"


def provenance(table: Table, experiment: str, profile: str, records: list[dict], made_by: str,
               failed_runs: list[str] | None = None) -> Provenance:
    """Provenance of ``table`` laid out from ``records``.

    Parameters
    ----------
    table : Table
        The laid-out table (title, empty rows, cell counts, notes, footer).
    experiment, profile : str
        What was collected.
    records : list of dict
        The finished run records behind the table.
    made_by : str
        The command that writes the table.
    failed_runs : list of str, optional
        Lines naming the runs that failed (:func:`imbench.tables.collect.failure_lines`).

    Returns
    -------
    Provenance
    """
    return Provenance(
        title=table.title, experiment=experiment, profile=profile, made_by=made_by,
        run_commands=_distinct(r.get("command") for r in records if r.get("command")),
        commits=run_commits(records), hardware=run_machines(records), cell_counts=list(table.cell_counts),
        finished_runs=len(records), empty_rows=dict(table.empty), compute_s=round(run_compute_seconds(records), 1),
        failed_runs=list(failed_runs or []), notes=list(table.notes),
        footer=list(table.footer),
    )

