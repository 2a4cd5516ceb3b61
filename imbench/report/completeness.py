"""Which runs a sweep is missing.

The runs of a setting are its replicates (seed, fold, repeat). Within a block every method is expected
to have the same replicates: every seed any run of the block used, times the folds and repeats the
runs planned (``record["effective"]``: the profile's caps applied) or that any method of the block has.
A setting lacking some of them is *incomplete*; the report shows its numbers marked as such and lists
the missing runs. A method that ran in some blocks of a family (the same setting at other IRs) but has
no finished run in another is listed too, as are run directories without ``done`` and unreadable
records.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from imbench.records import load_record
from imbench.report.frame import Sweep
from imbench.report.reading import RunSet, UnfinishedRun, UnreadableRecord
from imbench.report.settings import REPLICATE_KEYS, run_id_of, setting_id, setting_identity

DIRECTORY_WITHOUT_DONE = "directory without done (interrupted or in progress)"
NO_DIRECTORY = "not run (no directory)"
UNREADABLE = "finished, but its result.json cannot be read"


@dataclass(frozen=True)
class Replicate:
    """One run of a setting: its base seed, fold and repeat."""
    seed: int
    fold: int
    repeat: int

    def __str__(self) -> str:
        return f"seed {self.seed} fold {self.fold} repeat {self.repeat}"


@dataclass(frozen=True)
class MissingRun:
    """A replicate some setting lacks while other runs of its block have it.

    ``run_id`` is the directory the run would have (None when the setting's identity is not exact).
    """
    setting: str
    block_label: str
    variant: str
    replicate: Replicate
    run_id: str | None
    state: str


@dataclass(frozen=True)
class AbsentVariant:
    """A method (variant) with finished runs at other IRs of a family but none in this block."""
    block_label: str
    variant: str


@dataclass(frozen=True)
class StrayRun:
    """A run directory without ``done`` that no missing replicate accounts for."""
    run_dir: Path
    setting_hint: str


@dataclass
class Completeness:
    """What is missing from a sweep.

    Attributes
    ----------
    expected : dict
        ``{setting id: set of Replicate}`` each setting should have.
    present : dict
        ``{setting id: set of Replicate}`` it has.
    missing : list of MissingRun
    absent : list of AbsentVariant
    stray : list of StrayRun
    unreadable : list of UnreadableRecord
    """
    expected: dict[str, set[Replicate]]
    present: dict[str, set[Replicate]]
    missing: list[MissingRun] = field(default_factory=list)
    absent: list[AbsentVariant] = field(default_factory=list)
    stray: list[StrayRun] = field(default_factory=list)
    unreadable: list[UnreadableRecord] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not (self.missing or self.absent or self.stray or self.unreadable)

    def setting_complete(self, setting: str) -> bool:
        return self.expected[setting] <= self.present[setting]

    def missing_text(self, setting: str) -> str:
        """Compact list of the replicates ``setting`` lacks, e.g. 'folds 2, 3, 4' (seed/repeat named when
        the block has several)."""
        lacking = sorted(self.expected[setting] - self.present[setting], key=lambda r: (r.seed, r.repeat, r.fold))
        if not lacking:
            return ""
        several = len({(r.seed, r.repeat) for r in self.expected[setting]}) > 1
        parts = []
        for (seed, repeat), group in itertools.groupby(lacking, key=lambda r: (r.seed, r.repeat)):
            folds = ", ".join(str(r.fold) for r in group)
            parts.append(f"folds {folds}" + (f" (seed {seed}, repeat {repeat})" if several else ""))
        return "; ".join(parts)

    def summary_lines(self) -> list[str]:
        """One line per problem, for the Markdown, the HTML and stderr."""
        lines = [f"{m.block_label}, {m.variant}: {m.replicate} missing — {m.state}"
                 + (f" (run id {m.run_id})" if m.run_id else "") for m in self.missing]
        lines += [f"{a.block_label}: no finished run of {a.variant} (it ran at other IRs of this setting)"
                  for a in self.absent]
        lines += [f"run directory {s.run_dir} has no done marker ({s.setting_hint})" for s in self.stray]
        lines += [f"{u.path}: {u.reason}; skipped" for u in self.unreadable]
        return lines


def _replicate(row: pd.Series) -> Replicate:
    return Replicate(*(int(row[k]) if pd.notna(row[k]) else -1 for k in REPLICATE_KEYS))


def _planned(values: pd.Series) -> int:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    return int(numbers.max()) if len(numbers) else 0


def _unfinished_state(run: UnfinishedRun) -> str:
    return DIRECTORY_WITHOUT_DONE if run.error is None else f"failed: {run.error}"


def _stray_hint(run: UnfinishedRun, sweep: Sweep) -> str:
    if run.error is not None:
        return f"failed: {run.error}"
    if not run.has_result:
        return "no result.json yet: interrupted or in progress"
    try:
        identity = setting_identity(load_record(run.run_dir)).identity
    except (OSError, ValueError):
        return "its result.json cannot be read"
    sid = setting_id(identity)
    if sid in sweep.settings:
        rows = sweep.runs[sweep.runs["setting"] == sid].iloc[0]
        return f"a run of {rows['block_label']}, {rows['variant']}"
    return "a run of a setting with no finished run"


def assess(sweep: Sweep, runset: RunSet) -> Completeness:
    """Find the missing runs of ``sweep`` (see the module docstring).

    Parameters
    ----------
    sweep : Sweep
        The finished runs.
    runset : RunSet
        What was read, for the unfinished directories and unreadable records.

    Returns
    -------
    Completeness
    """
    runs = sweep.runs
    result = Completeness(expected={}, present={}, unreadable=list(runset.unreadable))
    unfinished = {u.run_dir.name: u for u in runset.unfinished}
    unreadable = {u.path.parent.name for u in runset.unreadable}
    accounted: set[str] = set()
    if runs.empty:
        result.stray = [StrayRun(u.run_dir, _stray_hint(u, sweep)) for u in runset.unfinished]
        return result
    replicates = runs.apply(_replicate, axis=1)
    for _, block in runs.groupby("block", sort=False):
        reps = replicates.loc[block.index]
        seeds = {r.seed for r in reps}
        folds = set(range(_planned(block["planned_folds"]))) | {r.fold for r in reps}
        repeats = set(range(_planned(block["planned_repeats"]))) | {r.repeat for r in reps}
        expected = {Replicate(s, f, r) for s in seeds for f in folds for r in repeats}
        for sid, rows in block.groupby("setting", sort=False):
            result.expected[sid] = expected
            result.present[sid] = set(replicates.loc[rows.index])
            setting = sweep.settings[sid]
            first = rows.iloc[0]
            for rep in sorted(expected - result.present[sid], key=lambda r: (r.seed, r.repeat, r.fold)):
                run_id = run_id_of(setting.identity, rep.seed, rep.fold, rep.repeat) if setting.exact else None
                state = (_unfinished_state(unfinished[run_id]) if run_id in unfinished
                         else UNREADABLE if run_id in unreadable else NO_DIRECTORY)
                if run_id in unfinished:
                    accounted.add(run_id)
                result.missing.append(MissingRun(sid, first["block_label"], first["variant"], rep, run_id, state))
    for _, family in runs.groupby("family", sort=False):
        variants = set(family["variant"])
        for _, block in family.groupby("block", sort=False):
            for variant in sorted(variants - set(block["variant"])):
                result.absent.append(AbsentVariant(block["block_label"].iloc[0], variant))
    result.stray = [StrayRun(u.run_dir, _stray_hint(u, sweep)) for name, u in unfinished.items()
                    if name not in accounted]
    return result

