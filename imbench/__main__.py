"""``python -m imbench [overrides]``: run one configured job (or a sweep with ``-m``).

``python -m imbench report OUT_DIR ...`` (``imbench report`` from the console script) writes the report
of a sweep instead (:mod:`imbench.report.cli`); it is dispatched before Hydra reads the command line,
where a bare word like ``report`` would be no valid override anyway.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from imbench.errors import ImbenchError

SUBCOMMANDS = ("report",)

# Jobs of this process's sweep that stopped with imbench's error under keep_going=true.
_FAILED_JOBS: list[str] = []


def _hydra_dir(out_dir: object) -> str:
    """Where Hydra keeps its logs: under out_dir, or under the temp folder when out_dir is empty or cannot
    be written (the run then stops with imbench's message instead of Hydra's traceback; an empty out_dir
    would otherwise put Hydra's folder at the root)."""
    text = "" if out_dir is None else str(out_dir).strip()
    if text:
        try:
            Path(text).mkdir(parents=True, exist_ok=True)
            if os.access(text, os.W_OK):
                return text
        except OSError:
            pass
    return str(Path(tempfile.gettempdir()) / "imbench-unusable-out-dir")


if not OmegaConf.has_resolver("imbench_hydra_dir"):
    OmegaConf.register_new_resolver("imbench_hydra_dir", _hydra_dir)


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def run(cfg: DictConfig) -> None:
    from imbench.launch import configure_threads
    from imbench.runner import run_job, summary_line

    configure_threads()
    plain = OmegaConf.to_container(cfg, resolve=True)
    if plain.get("keep_going") is True and _in_multirun() and not _basic_launcher():
        # other launchers run jobs in other processes, whose failures this process would never see
        print("imbench: error: keep_going=true works with Hydra's basic launcher only (jobs one after another in "
              "this process); with this launcher drop keep_going, or set hydra/launcher=basic", file=sys.stderr,
              flush=True)
        sys.exit(2)
    try:
        summary = run_job(plain)
    except ImbenchError as e:
        print(f"imbench: error: {e}", file=sys.stderr, flush=True)
        if plain.get("keep_going") is True and _in_multirun():
            _FAILED_JOBS.append(_job_overrides())
            return
        sys.exit(2)
    print(summary_line(plain, summary), flush=True)


def _in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.get().mode == RunMode.MULTIRUN


def _basic_launcher() -> bool:
    from hydra.core.hydra_config import HydraConfig

    return str(HydraConfig.get().launcher.get("_target_", "")).endswith(".BasicLauncher")


def _job_overrides() -> str:
    from hydra.core.hydra_config import HydraConfig

    return " ".join(HydraConfig.get().overrides.task)


def _exit_if_jobs_failed() -> None:
    """After a keep_going sweep: name every job that failed and exit non-zero."""
    if _FAILED_JOBS:
        print(f"imbench: error: {len(_FAILED_JOBS)} job(s) of the sweep stopped (each error is printed above; their "
              "unfinished runs hold failed.json, runs of theirs that finished before are kept); the other jobs "
              "finished. The jobs that stopped:", file=sys.stderr)
        for job in _FAILED_JOBS:
            print(f"  {job}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    """The ``imbench`` console script: ``imbench report OUT_DIR ...``, else a Hydra run."""
    if len(sys.argv) > 1 and sys.argv[1] == "report":
        from imbench.report.cli import main as report_main

        sys.exit(report_main(sys.argv[2:], prog="imbench report"))
    from imbench.provenance import remember_command

    remember_command()
    _FAILED_JOBS.clear()
    run()
    _exit_if_jobs_failed()


if __name__ == "__main__":
    main()
