"""``python -m imbench [overrides]``: run one configured job (or a sweep with ``-m``)."""
from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig, OmegaConf

from imbench.errors import ImbenchError


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    from imbench.runner import run_job, summary_line

    plain = OmegaConf.to_container(cfg, resolve=True)
    try:
        summary = run_job(plain)
    except ImbenchError as e:
        print(f"imbench: error: {e}", file=sys.stderr)
        sys.exit(2)
    print(summary_line(plain, summary), flush=True)


if __name__ == "__main__":
    main()
