"""Where the report's numbers come from: the command that wrote it, and the runs' commands, commits,
machines, dates and versions.

Markdown and LaTeX files start with :meth:`ReportProvenance.lines`; each CSV has the same facts in a
``<name>.provenance.json`` sidecar (as the paper tables do); figures carry them in their PNG / SVG
metadata; the HTML page shows them in full, per setting as well.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field

import pandas as pd

from imbench.provenance import git_state
from imbench.tables.header import Commit, Machine, commits_text, hardware_text, run_commits, run_machines

MAX_COMMANDS = 5
MAX_PROBLEMS = 20


@dataclass
class ReportProvenance:
    """Provenance of a sweep report.

    Attributes
    ----------
    title : str
        The report's title.
    made_by : str
        The command that wrote the report.
    made_at : str
        When (UTC, ISO 8601).
    report_code : str
        The git commit of the code that wrote the report (``(dirty)`` with uncommitted changes).
    out_dir : str
        Where the runs were read.
    finished_runs : int
        Finished records read.
    run_commands : list of str
        Distinct commands of the runs.
    commits : list of Commit
        Distinct commits of the runs.
    hardware : list of Machine
        Distinct machines of the runs.
    first_started, last_finished : str
        The earliest start and the latest end of the runs.
    versions : list of str
        Distinct imbench / torch versions of the runs.
    complete : bool
        Whether no run is missing (see :mod:`imbench.report.completeness`).
    problems : list of str
        The missing runs and other problems, one line each.
    """
    title: str
    made_by: str
    made_at: str
    report_code: str
    out_dir: str
    finished_runs: int
    run_commands: list[str]
    commits: list[Commit]
    hardware: list[Machine]
    first_started: str
    last_finished: str
    versions: list[str]
    complete: bool
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Header lines, the title first (Markdown and LaTeX add their own prefix)."""
        shown = self.run_commands[:MAX_COMMANDS]
        more = len(self.run_commands) - len(shown)
        lines = [
            self.title,
            f"Made by: {self.made_by} (code {self.report_code}, {self.made_at})",
            f"Runs read from: {self.out_dir}: {self.finished_runs} finished runs, "
            f"started {self.first_started} to finished {self.last_finished}",
            "Runs made by: " + ("; ".join(shown) if shown else "no runs") + (f" (+{more} more)" if more else ""),
            f"Git commit(s) of the runs: {commits_text(self.commits)}",
            f"Hardware: {hardware_text(self.hardware)}",
            f"Versions: {', '.join(self.versions) or 'unknown'}",
        ]
        if self.complete:
            lines.append("Completeness: every expected run is finished")
        else:
            listed = self.problems[:MAX_PROBLEMS]
            more = len(self.problems) - len(listed)
            lines.append(f"INCOMPLETE: {len(self.problems)} missing run(s) or other problem(s):")
            lines += [f"  - {p}" for p in listed] + ([f"  - (+{more} more; see report.html)"] if more else [])
        return lines

    def to_json(self) -> str:
        """The sidecar's text (UTF-8, indented)."""
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"


def _span(values: pd.Series, last: bool) -> str:
    stamps = values.dropna().astype(str)
    if stamps.empty:
        return "unknown"
    return stamps.max() if last else stamps.min()


def _versions(records: list[dict]) -> list[str]:
    out: list[str] = []
    for r in records:
        v = r.get("versions") or {}
        text = f"imbench {v.get('imbench')}, torch {v.get('torch')}, python {v.get('python')}"
        if text not in out:
            out.append(text)
    return out


def code_commit() -> str:
    """The commit of the imbench code running now, ``(dirty)`` when tracked files differ from it."""
    state = git_state()
    return f"{state.get('commit') or 'unknown (not a git checkout)'}{' (dirty)' if state.get('dirty') else ''}"


def report_provenance(records: list[dict], runs: pd.DataFrame, made_by: str, out_dir: str,
                      problems: list[str]) -> ReportProvenance:
    """Provenance of a report made from ``records`` (the rows of ``runs``).

    Parameters
    ----------
    records : list of dict
        The finished run records.
    runs : pandas.DataFrame
        Their tidy frame (for the start and end times).
    made_by : str
        The report's command line.
    out_dir : str
        Where the runs were read.
    problems : list of str
        :meth:`imbench.report.completeness.Completeness.summary_lines`.

    Returns
    -------
    ReportProvenance
    """
    commands: list[str] = []
    for r in records:
        if r.get("command") and r["command"] not in commands:
            commands.append(r["command"])
    empty = pd.Series(dtype=object)
    return ReportProvenance(
        title=f"Sweep report: {out_dir}", made_by=made_by,
        made_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), report_code=code_commit(),
        out_dir=out_dir, finished_runs=len(records), run_commands=commands, commits=run_commits(records),
        hardware=run_machines(records), first_started=_span(runs.get("started_at", empty), last=False),
        last_finished=_span(runs.get("finished_at", empty), last=True), versions=_versions(records),
        complete=not problems, problems=list(problems),
    )
