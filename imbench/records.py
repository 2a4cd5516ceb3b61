"""Run records: one directory per run, named by the hash of what defines the run.

``<out_dir>/<hash>/result.json`` is written atomically, then the ``done`` marker. A directory without
``done`` is an interrupted run and is redone; a finished run is only redone with ``rerun=true``, and
then the old directory is kept as ``<hash>.replaced-<time>``.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

DONE = "done"
RESULT = "result.json"


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def run_hash(identity: dict) -> str:
    """Stable 16-hex-digit hash of a run's identity (config that defines it, fold, repeat)."""
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:16]


def is_done(run_dir: Path) -> bool:
    return (run_dir / DONE).is_file() and (run_dir / RESULT).is_file()


def write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=1, sort_keys=True, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def prepare_run_dir(run_dir: Path, rerun: bool) -> None:
    """Make ``run_dir`` ready for a fresh run, moving a finished one aside only when ``rerun``."""
    if is_done(run_dir):
        if not rerun:
            raise FileExistsError(f"{run_dir} holds a finished run; pass rerun=true to redo it")
        run_dir.rename(run_dir.with_name(f"{run_dir.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"))
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / DONE).unlink(missing_ok=True)


def finish_run(run_dir: Path, record: dict) -> Path:
    """Write the record, then the completion marker; returns the record's path."""
    path = run_dir / RESULT
    write_json_atomic(path, record)
    (run_dir / DONE).write_text(record.get("finished_at", "") + "\n")
    return path


def load_record(run_dir: Path) -> dict:
    with open(run_dir / RESULT) as fh:
        return json.load(fh)


def iter_records(out_dir: str | os.PathLike, experiment: str | None = None) -> Iterator[dict]:
    """Every finished record under ``out_dir`` (optionally only one experiment's); unfinished runs are skipped."""
    root = Path(out_dir)
    if not root.is_dir():
        return
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if is_done(run_dir):
            rec = load_record(run_dir)
            if experiment is None or rec.get("experiment") == experiment:
                rec["_path"] = str(run_dir / RESULT)
                yield rec


def adopt_legacy_run(old_dir: Path, new_dir: Path, log=print) -> bool:
    """Move a finished run written under its pre-0.2 run id (see :func:`imbench.config.legacy_identity`)
    to its current run id, once; the record inside is unchanged and notes where it came from in
    ``adopted_from``. Returns whether a run was moved."""
    if old_dir == new_dir or not is_done(old_dir) or new_dir.exists():
        return False
    os.replace(old_dir, new_dir)
    (new_dir / "adopted_from").write_text(old_dir.name + "\n")
    log(f"[imbench] run {old_dir.name} (written before the method protocol) moved to its new id {new_dir.name}")
    return True
