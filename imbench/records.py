"""Run records: one directory per run, named by the hash of what defines the run.

``<out_dir>/<hash>/result.json`` is written atomically (a temporary file, fsync, rename), then the
``done`` marker (fsync'd, and the directory too). A directory without ``done`` is an interrupted run and
is redone; a finished run is only redone with ``rerun=true``, and then the old directory is kept as
``<hash>.replaced-<time>``. A finished run whose record cannot be read (a truncated ``result.json``) is
moved aside as ``<hash>.corrupt-<time>`` and redone; readers name it and skip it.

A run that failed (a method that cannot fit its training set, a diverged training) leaves
``<hash>/failed.json`` instead: the error, when and at which commit, and the job's config. It is never
read as finished: the run is tried again by the next sweep, and its finished record removes the marker.
Tables read the markers to say why a cell is empty.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Iterator

from imbench.errors import RecordsError

DONE = "done"
RESULT = "result.json"
FAILED = "failed.json"
RUN_DIR_NAME = re.compile(r"[0-9a-f]{16}")  # run ids; runs moved aside (.replaced-, .corrupt-) are not read


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def run_hash(identity: dict) -> str:
    """Stable 16-hex-digit hash of a run's identity (config that defines it, fold, repeat)."""
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:16]


def is_done(run_dir: Path) -> bool:
    return (run_dir / DONE).is_file() and (run_dir / RESULT).is_file()


class CorruptRecord(RecordsError):
    """A finished run's ``result.json`` cannot be read."""


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_failed(path: Path, err: OSError) -> RecordsError:
    return RecordsError(f"cannot write {path}: {err.strerror or err} (errno {err.errno}); the run is not marked done. "
                        "Free space or fix the permissions of out_dir, or choose another out_dir, then run again "
                        "(finished runs are kept)")


def write_bytes_atomic(path: Path, write) -> None:
    """``write(file)`` into a temporary file beside ``path``, fsync, rename; nothing is left on failure."""
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise _write_failed(path, e) from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, obj: Any) -> None:
    text = json.dumps(obj, indent=1, sort_keys=True, default=str).encode()
    write_bytes_atomic(path, lambda fh: fh.write(text))


def clean_temporaries(run_dir: Path, older_than_s: float = 3600.0) -> None:
    """Remove temporary files that an interrupted writer left in ``run_dir``: this process's own, and any
    older than ``older_than_s`` (another process's recent one may still be in flight)."""
    now = time.time()
    for tmp in run_dir.glob("*.tmp-*"):
        try:
            if tmp.name.endswith(f".tmp-{os.getpid()}") or now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink(missing_ok=True)
        except FileNotFoundError:
            pass


def move_aside(run_dir: Path, why: str) -> Path:
    """Rename ``run_dir`` to ``<name>.<why>-<time>`` (kept, never deleted); returns the new path."""
    target = run_dir.with_name(f"{run_dir.name}.{why}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    run_dir.rename(target)
    return target


def prepare_run_dir(run_dir: Path, rerun: bool) -> bool:
    """Make ``run_dir`` ready for a fresh run; False when it already holds a finished run and not
    ``rerun`` (another process finished it first). With ``rerun`` a finished run is moved aside."""
    if is_done(run_dir):
        if not rerun:
            return False
        move_aside(run_dir, "replaced")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / DONE).unlink(missing_ok=True)
    except OSError as e:
        raise _write_failed(run_dir, e) from e
    clean_temporaries(run_dir)
    return True


def finish_run(run_dir: Path, record: dict) -> Path:
    """Write the record, then the completion marker (both fsync'd); returns the record's path."""
    path = run_dir / RESULT
    write_json_atomic(path, record)
    write_bytes_atomic(run_dir / DONE, lambda fh: fh.write((record.get("finished_at", "") + "\n").encode()))
    (run_dir / FAILED).unlink(missing_ok=True)
    _fsync_dir(run_dir)
    return path


def mark_failed(run_dir: Path, failure: dict) -> None:
    """Write ``failed.json`` (``failure``: the error and the job) into a run that is not finished; a
    finished run is left as it is. The marker is a note for readers: losing it loses no result, so a
    filesystem error here is not raised."""
    if is_done(run_dir):
        return
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(run_dir / FAILED, failure)
    except (RecordsError, OSError):
        pass


def read_failure(run_dir: Path) -> dict | None:
    """The failure note of an unfinished run (its ``failed.json``), or None when it has none, is finished,
    or the note cannot be read or is malformed."""
    marker = Path(run_dir) / FAILED
    if is_done(run_dir) or not marker.is_file():
        return None
    try:
        failure = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return failure if _well_formed_failure(failure) else None


def iter_failures(out_dir: str | os.PathLike, experiment: str | None = None) -> Iterator[dict]:
    """The ``failed.json`` of every run under ``out_dir`` that failed and has not finished since
    (optionally only one experiment's); unreadable markers are skipped."""
    root = Path(out_dir)
    if not root.is_dir():
        return
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir() and RUN_DIR_NAME.fullmatch(p.name)):
        failure = read_failure(run_dir)
        if failure is not None and (experiment is None or failure.get("experiment") == experiment):
            failure["_path"] = str(run_dir / FAILED)
            yield failure


def _well_formed_failure(failure: Any) -> bool:
    """A marker readers can use: a dict whose job is a dict, config (if any) a dict with a dict profile,
    and experiment a string or missing."""
    if not isinstance(failure, dict) or not isinstance(failure.get("job"), dict):
        return False
    config = failure.get("config") or {}
    if not isinstance(config, dict) or not isinstance(config.get("profile") or {}, dict):
        return False
    return isinstance(failure.get("experiment"), (str, type(None)))


def load_record(run_dir: Path) -> dict:
    """The finished run's record; :class:`CorruptRecord` naming the file when it cannot be read."""
    path = Path(run_dir) / RESULT
    try:
        with open(path) as fh:
            record = json.load(fh)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError: the file is damaged
        raise CorruptRecord(f"the record {path} cannot be read ({type(e).__name__}: {e})") from e
    except OSError as e:  # permissions, a network filesystem's hiccup: the file may be fine
        raise RecordsError(f"the record {path} cannot be opened: {e.strerror or e}; check its permissions and "
                           "the filesystem, then run again") from e
    if not isinstance(record, dict):
        raise CorruptRecord(f"the record {path} is not a JSON object")
    return record


def iter_records(out_dir: str | os.PathLike, experiment: str | None = None, warn=None) -> Iterator[dict]:
    """Every finished record under ``out_dir`` (optionally only one experiment's); unfinished runs are
    skipped, and a corrupt record is named (``warn``, default stderr) and skipped."""
    root = Path(out_dir)
    if not root.is_dir():
        return
    say = warn or (lambda m: print(m, file=sys.stderr))
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir() and RUN_DIR_NAME.fullmatch(p.name)):
        if is_done(run_dir):
            try:
                rec = load_record(run_dir)
            except CorruptRecord as e:
                say(f"[imbench] skipped: {e}; rerunning the job that made it redoes the run")
                continue
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
