"""Store (or check) the metrics of one tiny real run per method: the refactor's golden test data.

``python scripts/golden_metrics.py write`` runs every case below on the CPU with one torch thread and
writes ``tests/golden/metrics.json`` (run ids and metrics). The stored file was written at commit 465680f,
before the method protocol; ``tests/test_golden.py`` runs the same cases and asserts bit-identical metrics
and that each run's pre-protocol id (``legacy_id``) is the stored one. Rewriting it would store today's ids.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "metrics.json"

IMAGE = ["data=mnist", "skew=step", "skew.minority=[8,9]", "skew.n_max=60", "ir=6", "profile=quick",
         "profile.max_epochs=1", "profile.max_generator_batches=3", "folds=1", "progress=false",
         "fid.enabled=false", "device=cpu", "batch_runs=false"]
METHODS = ["none", "random", "smote", "adasyn", "borderline_smote", "tuned_smote", "smote_torch", "random_torch",
           "cgan", "acgan", "bagan", "cvae", "r_cgan", "r_acgan", "r_cvae"]
CASES: dict[str, list[str]] = {m: [f"method={m}", *IMAGE] for m in METHODS}
CASES["tuned_smote"] += ["method.sampler.cv=2", "method.sampler.k_grid=[3,5]"]
# the protocol paths: Fajardo's weight search, batched repeats, a tabular best-validation job
CASES["smote+weight_search"] = ["method=smote", *IMAGE, "profile.weight_search=true",
                                "classifier.weight_grid=[1.0,5.0]"]
CASES["random+batched"] = ["method=random", *IMAGE, "folds=2", "repeats=2", "profile.max_repeats=2",
                           "batch_runs=true"]
CASES["cgan+batched_generators"] = ["method=cgan", *IMAGE, "folds=2", "batch_runs=true"]
CASES["tabular_best_val"] = ["data=imblearn", "data.dataset=ecoli", "skew=none", "protocol=shuffle_split",
                             "classifier=tabular_mlp", "profile=quick", "profile.max_epochs=5", "method=smote",
                             "progress=false", "device=cpu", "folds=2"]


def compose(overrides: list[str], out_dir: str) -> dict:
    from hydra import compose as hydra_compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = hydra_compose(config_name="config", overrides=[*overrides, f"out_dir={out_dir}"])
    return OmegaConf.to_container(cfg, resolve=True)


def run_case(name: str, data_root: str) -> dict:
    import torch

    from imbench.runner import run_job

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        extra = [] if "imblearn" in " ".join(CASES[name]) else [f"data.root={data_root}"]
        cfg = compose([*CASES[name], *extra], tmp)
        summary = run_job(cfg, log=lambda *a, **k: None)
    runs = sorted(summary.records, key=lambda r: r["run_id"])
    return {"overrides": CASES[name], "runs": [{"run_id": r["run_id"], "legacy_id": legacy_run_id(cfg, r["job"]),
                                                 "metrics": r["metrics"], "counts": r["counts"]} for r in runs]}


def legacy_run_id(cfg: dict, job: dict) -> str | None:
    """The run id the same run had before the method protocol (None before that refactor existed)."""
    try:
        from imbench.config import apply_profile, identity, legacy_identity
    except ImportError:
        return None
    from imbench.records import run_hash

    legacy = legacy_identity(identity(apply_profile(cfg)))
    return None if legacy is None else run_hash({**legacy, "fold": job["fold"], "repeat": job["repeat"]})


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import find_data_root

    root = find_data_root("MNIST")
    names = argv[1:] or list(CASES)
    out = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    import time
    for name in names:
        t0 = time.perf_counter()
        out[name] = run_case(name, str(root))
        print(f"{name}: {len(out[name]['runs'])} runs in {time.perf_counter() - t0:.1f}s", flush=True)
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "write":
        print(__doc__.strip() + "\n\nusage: python scripts/golden_metrics.py write [CASE ...]   (cases: "
              + ", ".join(CASES) + ")", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
