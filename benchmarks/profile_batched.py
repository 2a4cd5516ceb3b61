"""Where a batched training step spends its time: torch.profiler over one ``train_models_batched`` call.

    python benchmarks/profile_batched.py [--device cuda] [--arch mlp|cnn] [--n 128] [--steps 30] [--amp bf16|none]

Prints the wall time per step and the operators / kernels that take the most time (a development aid
for ``imbench/classifiers/batched.py``; the throughput figures come from ``benchmarks/run.py``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402
from imbench.classifiers.batched import train_models_batched  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--arch", default="mlp", choices=["mlp", "cnn"])
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--amp", default="bf16", choices=["bf16", "none"])
    ap.add_argument("--cudnn-benchmark", action="store_true")
    ap.add_argument("--no-graph", action="store_true")
    args = ap.parse_args()
    dev = torch.device(args.device)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    g = torch.Generator().manual_seed(0)
    if args.arch == "mlp":
        X, make, sched = torch.rand(32000, 784, generator=g), bench._mlp, bench._mlp_schedule
    else:
        X, make, sched = torch.rand(32000, 1, 32, 32, generator=g), bench._cnn, bench._cnn_schedule
    X, y = X.to(dev), torch.randint(0, 10, (32000,), generator=g).to(dev)
    kw = {"cuda_graph": False} if args.no_graph else {}
    train_models_batched(make, [(X, y, None)], sched(10, args.amp), list(range(args.n)), device=dev, **kw)
    bench._sync(dev)
    t0 = time.perf_counter()
    train_models_batched(make, [(X, y, None)], sched(args.steps, args.amp), list(range(args.n)), device=dev, **kw)
    bench._sync(dev)
    dt = time.perf_counter() - t0
    print(f"{args.arch} N={args.n} {args.steps} steps amp={args.amp}: {dt:.3f} s, {1000 * dt / args.steps:.2f} ms/step")
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with profile(activities=acts) as prof:
        train_models_batched(make, [(X, y, None)], sched(args.steps, args.amp), list(range(args.n)), device=dev, **kw)
        bench._sync(dev)
    key = "self_cuda_time_total" if dev.type == "cuda" else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=22, max_name_column_width=60))


if __name__ == "__main__":
    main()
