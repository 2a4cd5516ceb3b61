"""Claims: which process is training a run, so that several sweeps can share one out_dir.

Before a process trains a run it creates ``<run_dir>/claim`` atomically (``O_CREAT | O_EXCL``) with its
host, PID and start time; while it trains, a background thread touches the claims it holds every
``heartbeat_s`` seconds. Another process skips a run whose claim is fresh and takes over a claim whose
heartbeat is older than ``stale_after_s`` (its owner was killed or lost its machine): it renames the stale
claim aside (only one process can win that rename) and then claims the run as usual; a claim made on the
same host by a process that no longer exists is taken over at once. A claim is removed when its run is
written or its training fails.

This works on one machine and on shared filesystems with atomic ``O_EXCL`` create and rename (local
disks, NFSv3+, Lustre, GPFS); the heartbeat uses file modification times, so the machines' clocks must
agree to well within ``stale_after_s``.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from imbench.errors import ConfigError

CLAIM = "claim"


@dataclass(frozen=True)
class ClaimSettings:
    """How often a holder touches its claims, and after how long without a touch a claim is stale."""

    heartbeat_s: float = 30.0
    stale_after_s: float = 300.0

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> "ClaimSettings":
        cfg = dict(cfg or {})
        unknown = set(cfg) - {"heartbeat_s", "stale_after_s"}
        if unknown:
            raise ConfigError(f"claims has unknown key(s) {sorted(unknown)}; known: heartbeat_s, stale_after_s")
        beat, stale = cfg.get("heartbeat_s", 30.0), cfg.get("stale_after_s", 300.0)
        for key, value in (("heartbeat_s", beat), ("stale_after_s", stale)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"claims.{key} must be a positive number of seconds, got {value!r}")
        if stale <= 2 * beat:
            raise ConfigError(f"claims.stale_after_s ({stale}) must exceed twice claims.heartbeat_s ({beat}), or a "
                              "live process's claims would look stale")
        return cls(float(beat), float(stale))


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _owner() -> dict:
    """Who claims: host, PID (and its PID namespace: containers on one host share the hostname, not the
    PIDs), when, and a random token that tells this claim from any later one."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "pid_namespace": _pid_namespace(),
            "claimed_at": time.time(), "token": uuid.uuid4().hex}


def _read_owner(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def _owner_is_dead(owner: dict) -> bool:
    """Whether the claim's process is known to be gone: it ran on this host and its PID is not alive (a
    killed sweep restarted at once need not wait for its claims to go stale). Other hosts' processes
    cannot be checked; their claims go stale by the heartbeat."""
    pid = owner.get("pid")
    if (owner.get("host") != socket.gethostname() or owner.get("pid_namespace") != _pid_namespace()
            or owner.get("pid_namespace") is None or not isinstance(pid, int) or pid == os.getpid()):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def read_claim(run_dir: Path) -> dict | None:
    """The claim's owner (host, pid, claimed_at) and its age in seconds, or None when unclaimed."""
    path = Path(run_dir) / CLAIM
    try:
        age = time.time() - path.stat().st_mtime
        owner = json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        owner = {}
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return None
    return {**owner, "age_s": age}


class Claims:
    """The claims one process holds; a context manager that runs the heartbeat while open."""

    def __init__(self, settings: ClaimSettings = ClaimSettings(), log=print) -> None:
        self.settings, self.log = settings, log
        self.held: dict[Path, str] = {}  # run dir -> the token of our claim
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- claiming ----------------------------------------------------------------------------------
    def _create(self, run_dir: Path) -> bool:
        run_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(run_dir / CLAIM, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        owner = _owner()
        with os.fdopen(fd, "w") as fh:
            json.dump(owner, fh)
        with self._lock:
            self.held[run_dir] = owner["token"]
        return True

    def _still_ours(self, run_dir: Path, token: str) -> bool:
        owner = _read_owner(run_dir / CLAIM)
        return owner is not None and owner.get("token") == token

    def try_claim(self, run_dir: Path) -> bool:
        """Claim ``run_dir``; False when another process holds a fresh claim on it."""
        run_dir = Path(run_dir)
        if self._create(run_dir):
            return True
        current = read_claim(run_dir)
        if current is None:  # released in the meantime
            return self._create(run_dir)
        if current["age_s"] <= self.settings.stale_after_s and not _owner_is_dead(current):
            return False
        aside = run_dir / f"{CLAIM}.stale-{os.getpid()}-{time.time_ns()}"
        try:
            os.rename(run_dir / CLAIM, aside)
        except FileNotFoundError:
            return False
        moved = _read_owner(aside) or {}
        if moved.get("token") != current.get("token") or moved.get("pid") != current.get("pid"):
            # another process took the stale claim over between our read and our rename: what we moved is
            # its fresh claim; put it back (link fails if yet another claim is there) and leave the run
            try:
                os.link(aside, run_dir / CLAIM)
            except OSError:
                pass
            aside.unlink(missing_ok=True)
            return False
        self.log(f"[imbench] run {run_dir.name}: taking over the claim of host {current.get('host')}, pid "
                 f"{current.get('pid')} (no heartbeat for {current['age_s']:.0f} s, or that process has ended)")
        aside.unlink(missing_ok=True)
        return self._create(run_dir)

    def claim_all(self, run_dirs: Iterable[Path]) -> list[Path]:
        """Claim what can be claimed; returns the claimed directories."""
        return [d for d in run_dirs if self.try_claim(d)]

    def release(self, run_dir: Path) -> None:
        """Remove our claim on ``run_dir``, unless another process has taken it over meanwhile."""
        run_dir = Path(run_dir)
        with self._lock:
            token = self.held.pop(run_dir, None)
        if token is not None and self._still_ours(run_dir, token):
            (run_dir / CLAIM).unlink(missing_ok=True)
            try:
                run_dir.rmdir()  # a run that failed (or was never written) leaves no empty directory behind
            except OSError:
                pass

    def release_all(self) -> None:
        for d in list(self.held):
            self.release(d)

    # -- heartbeat ---------------------------------------------------------------------------------
    def _beat(self) -> None:
        while not self._stop.wait(self.settings.heartbeat_s):
            with self._lock:
                held = list(self.held.items())
            for d, token in held:
                try:
                    if self._still_ours(d, token):  # never keep another process's claim alive
                        os.utime(d / CLAIM)
                except OSError:
                    pass

    def __enter__(self) -> "Claims":
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="imbench-claims-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.release_all()
