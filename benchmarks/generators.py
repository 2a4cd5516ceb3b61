"""Throughput of the deep oversamplers: seconds per generator epoch on a Fajardo-sized training set.

    python benchmarks/generators.py [--device cpu|cuda] [--steps N] [--methods cvae,cgan,...] [--group N] [--out DIR]

Each generator trains for a fixed number of optimiser steps (``--steps`` mini-batches, one "epoch" of a
training set of steps × batch images) on random 28×28 data of MNIST's shape; the script prints seconds per
step and the extrapolated time of the paper's full schedule (Fajardo et al.: m = {3,4,5}, rho = 320,
22,430 training images, 32,000 for the R- variants) and writes ``benchmarks/results/generators-<host>-<date>.json``
(or into ``--out``).

``--group N`` also trains N generators of each stepped method (CGAN, ACGAN, CVAE, InfoGAN, IMSIC: different seeds, the
same schedule) as one batched group (``imbench.methods.generative.stepped.fit_resample_many``, what the
runner does with the draws of a block and their weight searches) and reports generator trainings per
minute, batched vs one at a time, and the ratio.
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
    # IMSIC's InfoGAN baseline and IMSIC: 500 epochs of MNIST with GAMO's counts (9,000 images)
    "infogan": ("imbench.methods.generative.infogan.InfoGANSampler", 500, 64, 9000),
    "imsic": ("imbench.methods.generative.infogan.IMSICSampler", 500, 64, 9000),
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
    y[::2] = 0  # imbalanced (class 0 is half of every prefix), so there is something to generate
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


def time_group(name: str, device: str, steps: int, n_members: int, seq_fit_s: float) -> dict:
    """N trainings of one stepped generator as one batched group vs N sequential (``seq_fit_s`` each)."""
    from imbench.methods.generative.stepped import SteppedGenerator, fit_resample_many

    cls_path, epochs, batch, n_train = PAPER[name]
    cls = load(cls_path)
    if not issubclass(cls, SteppedGenerator):
        return {"method": name, "group": n_members, "note": "not a stepped generator: trained one at a time"}
    n = steps * batch
    rng = np.random.default_rng(0)
    X = rng.random((n, 28, 28), dtype=np.float32)
    y = np.arange(n) % 10
    y[::2] = 0
    kwargs = {"epochs": 1, "batch_size": batch, "device": device}
    fit_resample_many([cls(random_state=s, **kwargs) for s in range(n_members)],
                      [(X[:batch * 4], y[:batch * 4])] * n_members)  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    samplers = [cls(random_state=s, **kwargs) for s in range(n_members)]
    outs = fit_resample_many(samplers, [(X, y)] * n_members)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    failed = [str(o) for o in outs if isinstance(o, Exception)]
    group_fit = float(samplers[0].fit_seconds_)
    return {"method": name, "group": n_members, "steps_timed": steps, "group_fit_s": group_fit,
            "sequential_fit_s": seq_fit_s * n_members,
            "trainings_per_min_batched": 60 * n_members / group_fit, "trainings_per_min_sequential": 60 / seq_fit_s,
            "speedup": seq_fit_s * n_members / group_fit, "failed": failed}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=None, help="mini-batches timed (default 300 cuda, 20 cpu)")
    p.add_argument("--methods", default=",".join(PAPER))
    p.add_argument("--group", type=int, default=0, help="also train this many of each stepped generator as one group")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results"), help="folder of the JSON result")
    a = p.parse_args()
    steps = a.steps or (300 if a.device.startswith("cuda") else 20)
    rows = [time_method(m, a.device, steps) for m in a.methods.split(",")]
    print(f"{'method':10s} {'batch':>5s} {'ms/step':>8s} {'paper steps':>11s} {'paper schedule (s)':>18s}")
    for r in rows:
        print(f"{r['method']:10s} {r['batch_size']:5d} {1000 * r['seconds_per_step']:8.2f} {r['paper_steps']:11d} "
              f"{r['paper_schedule_seconds']:18.1f}")
    total = sum(r["paper_schedule_seconds"] for r in rows)
    print(f"all {len(rows)} generators, one training set, paper schedule: {total:.0f} s")
    groups = []
    if a.group > 1:
        print(f"\n{'method':10s} {'group':>5s} {'seq trainings/min':>17s} {'batched trainings/min':>21s} {'speedup':>8s}")
        for r in rows:
            g = time_group(r["method"], a.device, steps, a.group, r["seconds_per_step"] * r["steps_timed"])
            groups.append(g)
            if "speedup" in g:
                print(f"{g['method']:10s} {g['group']:5d} {g['trainings_per_min_sequential']:17.2f} "
                      f"{g['trainings_per_min_batched']:21.2f} {g['speedup']:7.2f}x")
            else:
                print(f"{g['method']:10s} {g['group']:5d}  {g['note']}")
    out = Path(a.out) / f"generators-{socket.gethostname()}-{dt.date.today()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"command": " ".join(sys.argv), "device": a.device, "rows": rows, "groups": groups,
                               "total_paper_schedule_s": total, "hardware": provenance.hardware(a.device),
                               "versions": provenance.versions(), "git": provenance.git_state()}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
