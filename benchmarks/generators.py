"""Throughput of the deep oversamplers: seconds per generator epoch on a Fajardo-sized training set.

    python benchmarks/generators.py [--device cpu|cuda] [--steps N] [--methods cvae,cgan,...]

Each generator trains for a fixed number of optimiser steps (``--steps`` mini-batches, one "epoch" of a
training set of steps × batch images) on random 28×28 data of MNIST's shape; the script prints seconds per
step and the extrapolated time of the paper's full schedule (Fajardo et al.: m = {3,4,5}, rho = 320,
22,430 training images, 32,000 for the R- variants) and writes ``benchmarks/results/generators-<host>-<date>.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imbench import provenance  # noqa: E402

# name: (class path, paper epochs, batch size, training-set size of the m={3,4,5}, rho=320 block)
PAPER = {
    "cgan": ("imbench.methods.generative.cgan.CGANSampler", 30, 64, 22430),
    "acgan": ("imbench.methods.generative.acgan.ACGANSampler", 60, 64, 22430),
    "cvae": ("imbench.methods.generative.cvae.CVAESampler", 300, 64, 22430),
    "bagan": ("imbench.methods.generative.bagan.BAGANSampler", 30, 128, 22430),
    "r_cgan": ("imbench.methods.generative.cgan.CGANSampler", 60, 64, 32000),
    "r_acgan": ("imbench.methods.generative.acgan.ACGANSampler", 60, 64, 32000),
    "r_cvae": ("imbench.methods.generative.cvae.CVAESampler", 125, 64, 32000),
}


def load(path: str):
    module, name = path.rsplit(".", 1)
    return getattr(__import__(module, fromlist=[name]), name)


def time_method(name: str, device: str, steps: int) -> dict:
    cls_path, epochs, batch, n_train = PAPER[name]
    n = steps * batch
    rng = np.random.default_rng(0)
    X = rng.random((n, 28, 28), dtype=np.float32)
    y = np.arange(n) % 10
    y[: n // 2] = 0  # imbalanced, so there is something to generate
    kwargs = {"epochs": 1, "batch_size": batch, "device": device, "random_state": 0}
    if name == "bagan":
        kwargs["ae_epochs"] = 1
    sampler = load(cls_path)(**kwargs)
    sampler.fit_resample(X[:batch * 2], y[:batch * 2])  # warm-up (CUDA context, kernels)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    sampler = load(cls_path)(**kwargs)
    sampler.fit_resample(X, y)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    fit = float(getattr(sampler, "fit_seconds_", wall))
    stages = 2 if name == "bagan" else 1  # BAGAN: autoencoder epochs + GAN epochs
    per_step = fit / (steps * stages)
    paper_steps = epochs * (n_train // batch) * stages
    return {"method": name, "batch_size": batch, "steps_timed": steps * stages, "seconds_per_step": per_step,
            "paper_epochs": epochs, "paper_train_size": n_train, "paper_steps": paper_steps,
            "paper_schedule_seconds": per_step * paper_steps, "wall_s_incl_generation": wall}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=None, help="mini-batches timed (default 300 cuda, 20 cpu)")
    p.add_argument("--methods", default=",".join(PAPER))
    a = p.parse_args()
    steps = a.steps or (300 if a.device.startswith("cuda") else 20)
    rows = [time_method(m, a.device, steps) for m in a.methods.split(",")]
    print(f"{'method':10s} {'batch':>5s} {'ms/step':>8s} {'paper steps':>11s} {'paper schedule (s)':>18s}")
    for r in rows:
        print(f"{r['method']:10s} {r['batch_size']:5d} {1000 * r['seconds_per_step']:8.2f} {r['paper_steps']:11d} "
              f"{r['paper_schedule_seconds']:18.1f}")
    total = sum(r["paper_schedule_seconds"] for r in rows)
    print(f"all {len(rows)} generators, one training set, paper schedule: {total:.0f} s")
    out = REPO / "benchmarks" / "results" / f"generators-{socket.gethostname()}-{dt.date.today()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"command": " ".join(sys.argv), "device": a.device, "rows": rows,
                               "total_paper_schedule_s": total, "hardware": provenance.hardware(a.device),
                               "versions": provenance.versions(), "git": provenance.git_state()}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
