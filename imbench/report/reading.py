"""Finding the run directories under an out_dir and reading their records.

A run directory is named by its 16-hex-digit run id (:func:`imbench.records.run_hash`); it is finished
when it holds ``result.json`` and the ``done`` marker (:func:`imbench.records.is_done`). Directories a
rerun set aside (``<id>.replaced-<time>``) and Hydra's ``hydra/`` logs are not runs. Sub-folders are
searched too, so one report can cover several sweeps' out_dirs below a common folder.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from imbench import records
from imbench.records import RESULT, CorruptRecord, is_done, load_record, read_failure

RUN_DIR_NAME = records.RUN_DIR_NAME
SKIPPED_DIRS = {"hydra", ".hydra"}


@dataclass(frozen=True)
class UnreadableRecord:
    """A finished run whose ``result.json`` cannot be read (truncated or not JSON)."""
    path: Path
    reason: str


@dataclass(frozen=True)
class UnfinishedRun:
    """A run directory without the ``done`` marker: the run was interrupted, is still in progress, or
    failed (``error``: its ``failed.json``'s error)."""
    run_dir: Path
    has_result: bool
    error: str | None = None


@dataclass
class RunSet:
    """What was found under an out_dir.

    Attributes
    ----------
    records : list of dict
        Finished records, each with ``_path`` (its ``result.json``) added; one per run id.
    unfinished : list of UnfinishedRun
        Run directories without ``done``.
    unreadable : list of UnreadableRecord
        Finished runs whose record could not be read; skipped.
    duplicates : list of pathlib.Path
        Records of a run id already read from another directory; skipped.
    """
    records: list[dict] = field(default_factory=list)
    unfinished: list[UnfinishedRun] = field(default_factory=list)
    unreadable: list[UnreadableRecord] = field(default_factory=list)
    duplicates: list[Path] = field(default_factory=list)


def find_run_dirs(out_dir: Path) -> list[Path]:
    """Every directory below ``out_dir`` named like a run id (not looked into further), sorted."""
    found = []
    for parent, dirs, _ in os.walk(out_dir):
        keep = []
        for name in dirs:
            if RUN_DIR_NAME.fullmatch(name):
                found.append(Path(parent, name))
            elif name not in SKIPPED_DIRS and ".replaced-" not in name and ".corrupt-" not in name:
                keep.append(name)
        dirs[:] = keep
    return sorted(found)


def read_runs(out_dir: str | os.PathLike, progress: bool = True) -> RunSet:
    """Read every finished record under ``out_dir``; note unfinished runs and unreadable records.

    Parameters
    ----------
    out_dir : str or path
        A sweep's ``out_dir`` (or a folder above several).
    progress : bool
        Show a tqdm progress line on stderr while reading.

    Returns
    -------
    RunSet
    """
    found = RunSet()
    seen: dict[str, Path] = {}
    dirs = find_run_dirs(Path(out_dir))
    for run_dir in tqdm(dirs, desc="reading run records", unit="run", file=sys.stderr, disable=not progress,
                        leave=False, mininterval=0.5):
        if not is_done(run_dir):
            failure = read_failure(run_dir)
            found.unfinished.append(UnfinishedRun(run_dir, (run_dir / RESULT).is_file(),
                                                  None if failure is None else str(failure.get("error", ""))))
            continue
        try:
            record = load_record(run_dir)
        except CorruptRecord as e:
            cause = e.__cause__
            reason = (f"not valid JSON ({cause})" if isinstance(cause, (json.JSONDecodeError, UnicodeDecodeError))
                      else f"cannot be read ({getattr(cause, 'strerror', None) or cause or e})")
            found.unreadable.append(UnreadableRecord(run_dir / RESULT, reason))
            continue
        if not isinstance(record, dict) or not isinstance(record.get("job"), dict):
            found.unreadable.append(UnreadableRecord(run_dir / RESULT, "not a run record (no 'job' entry)"))
            continue
        run_id = str(record.get("run_id") or run_dir.name)
        if run_id in seen:
            found.duplicates.append(run_dir)
            continue
        seen[run_id] = run_dir
        record["_path"] = str(run_dir / RESULT)
        found.records.append(record)
    return found
