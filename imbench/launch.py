"""How a job runs under Hydra's launchers: torch threads per job, and the user's command.

``hydra/launcher=joblib`` runs ``n_jobs`` jobs at once on one machine; each job then gets
``cores // n_jobs`` torch threads (at least 1), so that the jobs share the cores instead of each taking
all of them. ``hydra/launcher=submitit_local`` / ``submitit_slurm`` give each job ``cpus_per_task``
cores, and the job uses that many threads. Under the basic launcher torch keeps its own default. The
thread count changes numbers by rounding, so every record states it (``hardware.torch_threads``) and a
table cell that mixes thread counts says so.
"""
from __future__ import annotations

import os
from typing import Any, Mapping


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_for_launcher(launcher: Mapping[str, Any] | None, cores: int | None = None) -> int | None:
    """Torch threads for one job under ``launcher`` (Hydra's ``hydra.launcher`` node); None: leave as is."""
    if not launcher:
        return None
    target = str(launcher.get("_target_", ""))
    cores = cores or _cores()
    if "JoblibLauncher" in target:
        n_jobs = launcher.get("n_jobs") or 1
        n_jobs = cores if n_jobs < 0 else n_jobs  # joblib: -1 = every core
        return max(1, cores // max(1, min(n_jobs, cores)))
    if "submitit_launcher" in target:  # LocalLauncher, SlurmLauncher
        cpus = launcher.get("cpus_per_task")
        return int(cpus) if cpus else None
    return None


def configure_threads() -> int | None:
    """Set torch's thread count for this job from the running Hydra launcher; returns what was set."""
    import torch
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    threads = threads_for_launcher(HydraConfig.get().get("launcher"))
    if threads is not None:
        torch.set_num_threads(threads)
    return threads
