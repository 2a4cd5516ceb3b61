"""Where a number came from: git commit, hardware, library versions, command line."""
from __future__ import annotations

import os
import shlex
import platform
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@lru_cache(maxsize=1)
def git_state() -> dict:
    """Commit hash and whether tracked files differ from it. Changes under ``results/`` (the outputs
    that tables and figures write) do not count: they change no number that is computed.

    Where the code runs from a copy (a cluster or GPU node, whose ``.git`` may be missing or stale),
    ``IMBENCH_GIT_COMMIT`` names the commit the copy was made from (recorded with ``dirty: None``)."""
    if os.environ.get("IMBENCH_GIT_COMMIT"):  # set by whoever copied the code there; wins over a stale .git
        return {"commit": os.environ["IMBENCH_GIT_COMMIT"], "dirty": None, "source": "IMBENCH_GIT_COMMIT"}
    commit = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results")
    return {"commit": commit, "dirty": bool(dirty) if dirty is not None else None}


@lru_cache(maxsize=1)
def hardware(device: str = "cpu") -> dict:
    import torch

    info = {
        "host": platform.node(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
    }
    from imbench.precision import cpu_bf16_support

    info["cpu_bf16"] = cpu_bf16_support()
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


@lru_cache(maxsize=1)
def versions() -> dict:
    import importlib.metadata as md

    import imbench

    out = {"python": sys.version.split()[0], "imbench": imbench.__version__}
    for pkg in ("torch", "numpy", "scikit-learn", "imbalanced-learn", "hydra-core", "omegaconf", "pandas"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def write_benchmark(result: dict, name: str, out_dir: str | os.PathLike, device: str, script: str,
                    argv: list[str]) -> Path:
    """Stamp a benchmark's ``result`` with hardware, git state, versions and its command, and write it to
    ``<out_dir>/<name>-<host>-<date>-<time>.json``; returns the path."""
    import json
    import time

    result = {**result, "hardware": hardware(device), "git": git_state(), "versions": versions(),
              "command": f"python benchmarks/{Path(script).name} {' '.join(argv)}".rstrip()}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{result['hardware']['host']}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=1))
    return path


COMMAND_ENV = "IMBENCH_COMMAND"


def remember_command() -> None:
    """Keep the user's command line in the environment, where the processes a Hydra launcher starts (joblib
    workers, submitit jobs) find it: their own ``sys.argv`` is the launcher's, not the user's."""
    os.environ[COMMAND_ENV] = _argv_text(sys.argv)


def _argv_text(argv: list[str]) -> str:
    argv = list(argv)
    if argv and argv[0].endswith(("imbench/__main__.py", os.sep + "__main__.py")):
        argv[0] = "python -m imbench"
    return " ".join(argv)


def module_command(module: str, args: list[str]) -> str:
    """``python -m MODULE ARGS`` as a shell would need it typed again (``--structure '0:0;3:1,2'`` quoted)."""
    return f"python -m {module} " + shlex.join(args)


def command_line() -> str:
    """The user's command: the one :func:`remember_command` kept, else this process's own."""
    return os.environ.get(COMMAND_ENV) or _argv_text(sys.argv)
