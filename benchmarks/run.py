"""Throughput benchmarks: batched vs sequential MLP training, TorchSMOTE vs imbalanced-learn SMOTE.

    python benchmarks/run.py [--device cpu|cuda] [--quick]

Prints a table and writes ``benchmarks/results/<host>-<date>.json`` with hardware, versions and the
git commit. Inputs are random MNIST-shaped data (speed does not depend on the pixel values).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imbench.classifiers.batched import train_models_batched  # noqa: E402
from imbench.classifiers.models import MLP  # noqa: E402
from imbench.classifiers.train import Schedule, train_model  # noqa: E402
from imbench.methods.torch_smote import TorchSMOTE  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _fajardo_mlp() -> MLP:
    return MLP(784, 10, hidden=(512, 512), dropout=0.2, init="keras")


def _fajardo_schedule(steps: int) -> Schedule:
    return Schedule(steps=steps, batch_size=128, optimizer="rmsprop", lr=1e-3, alpha=0.9, eps=1e-7)


def bench_mlp(device: torch.device, ns: list[int], steps: int, n_train: int, seq_cap: int) -> list[dict]:
    """Models per minute (a model = ``steps`` RMSprop steps of batch 128), sequential vs batched."""
    g = torch.Generator().manual_seed(0)
    X = torch.rand(n_train, 784, generator=g).to(device)
    y = torch.randint(0, 10, (n_train,), generator=g).to(device)
    sched = _fajardo_schedule(steps)
    rows = []
    # warm-up (kernels, allocator)
    train_models_batched(_fajardo_mlp, [(X, y, None)], _fajardo_schedule(2), [0, 1])
    m = _fajardo_mlp().to(device)
    train_model(m, X, y, _fajardo_schedule(2))
    for n in ns:
        n_seq = min(n, seq_cap)
        _sync(device)
        t0 = time.perf_counter()
        for s in range(n_seq):
            torch.manual_seed(s)
            train_model(_fajardo_mlp().to(device), X, y, sched, seed=s)
        _sync(device)
        t_seq = (time.perf_counter() - t0) * n / n_seq
        t0 = time.perf_counter()
        res = train_models_batched(_fajardo_mlp, [(X, y, None)], sched, list(range(n)), device=device)
        _sync(device)
        t_bat = time.perf_counter() - t0
        assert all(res.ok)
        rows.append({"n_models": n, "steps": steps, "seq_s": t_seq, "seq_extrapolated_from": n_seq,
                     "batched_s": t_bat, "seq_models_per_min": 60 * n / t_seq,
                     "batched_models_per_min": 60 * n / t_bat, "speedup": t_seq / t_bat})
    return rows


def bench_smote(device: torch.device, majority: int, ratio: int, reps: int) -> dict:
    """SMOTE on MNIST-shaped 10-class data: class 0 has ``majority`` samples, the others majority/ratio."""
    from imblearn.over_sampling import SMOTE
    rng = np.random.default_rng(0)
    counts = [majority] + [max(majority // ratio, 8)] * 9
    y = np.concatenate([np.full(c, i) for i, c in enumerate(counts)])
    X = rng.random((len(y), 784), dtype=np.float32)
    t0 = time.perf_counter()
    for _ in range(reps):
        _, y_ref = SMOTE(k_neighbors=5, random_state=0).fit_resample(X, y)
    t_imb = (time.perf_counter() - t0) / reps
    TorchSMOTE(random_state=0, device=device).fit_resample(X[:200], y[:200] * 0 + (np.arange(200) % 2))  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps):
        _, y_res = TorchSMOTE(k_neighbors=5, random_state=0, device=device).fit_resample(X, y)
    _sync(device)
    t_torch = (time.perf_counter() - t0) / reps
    assert len(y_res) == len(y_ref)
    return {"n_in": int(len(y)), "n_out": int(len(y_res)), "majority": majority, "imbalance_ratio": ratio,
            "imblearn_s": t_imb, "torch_s": t_torch, "speedup": t_imb / t_torch}


def environment(device: torch.device) -> dict:
    import imblearn
    import sklearn

    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        except Exception:  # noqa: BLE001
            return "unknown"

    return {
        "host": socket.gethostname(), "platform": platform.platform(), "processor": platform.processor(),
        "cpu_count": torch.get_num_threads(), "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
        "sklearn": sklearn.__version__, "imblearn": imblearn.__version__,
        "git_commit": git("rev-parse", "HEAD"), "git_dirty": bool(git("status", "--porcelain")),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test that finishes in seconds")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    if args.quick:
        mlp = bench_mlp(device, ns=[1, 4], steps=10, n_train=2048, seq_cap=4)
        smote = bench_smote(device, majority=600, ratio=10, reps=1)
    else:
        mlp = bench_mlp(device, ns=[1, 8, 32, 128], steps=200, n_train=60000, seq_cap=8)
        smote = bench_smote(device, majority=6000, ratio=100, reps=3)

    print(f"MLP 784-512-512-10 (Fajardo, RMSprop, batch 128), device={device}")
    print(f"{'N':>5} {'steps':>6} {'seq s':>9} {'batched s':>10} {'seq models/min':>15} "
          f"{'batched models/min':>19} {'speedup':>8}")
    for r in mlp:
        star = "*" if r["seq_extrapolated_from"] < r["n_models"] else " "
        print(f"{r['n_models']:>5} {r['steps']:>6} {r['seq_s']:>8.2f}{star} {r['batched_s']:>10.2f} "
              f"{r['seq_models_per_min']:>15.1f} {r['batched_models_per_min']:>19.1f} {r['speedup']:>8.2f}")
    if any(r["seq_extrapolated_from"] < r["n_models"] for r in mlp):
        print("* sequential time extrapolated linearly from fewer models")
    print(f"\nSMOTE, MNIST-shaped (784 features, 10 classes, majority {smote['majority']}, "
          f"IR {smote['imbalance_ratio']}): {smote['n_in']} -> {smote['n_out']} rows")
    print(f"  imblearn {smote['imblearn_s']:.3f} s   TorchSMOTE({device}) {smote['torch_s']:.3f} s   "
          f"ratio {smote['speedup']:.2f}x")

    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    env = environment(device)
    path = out / f"{env['host']}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"quick": args.quick, "environment": env, "mlp": mlp, "smote": smote}, indent=2))
    print(f"\nwrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
