"""CPU cost of the dropout mask: torch's ``nn.Dropout`` (Bernoulli sampler) vs ``imbench.classifiers.models.Dropout``
(uniform draw compared with p), in a Table 14 MLP training step, sequential and batched.

    python benchmarks/dropout.py [--steps 50] [--n 16] [--out DIR]

Prints ms per model and step for each and writes ``<out>/dropout-<host>-<date>-<time>.json``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import run as bench  # noqa: E402
from imbench import provenance  # noqa: E402
from imbench.classifiers.batched import train_models_batched  # noqa: E402
from imbench.classifiers.models import Dropout  # noqa: E402
from imbench.classifiers.train import train_model  # noqa: E402


def _with(dropout_cls):
    def make() -> nn.Module:
        m = bench._mlp()
        for i, layer in enumerate(m.net):
            if isinstance(layer, nn.Dropout):
                m.net[i] = dropout_cls(layer.p)
        return m
    return make


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--n", type=int, default=16, help="models in the batched group")
    ap.add_argument("--seq-models", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    a = ap.parse_args(argv)
    g = torch.Generator().manual_seed(0)
    X = torch.rand(bench.FAJARDO_ROWS, 784, generator=g)
    y = torch.randint(0, 10, (bench.FAJARDO_ROWS,), generator=g)
    sched = bench._mlp_schedule(a.steps, "none")
    rows = []
    print(f"Table 14 MLP on the CPU ({torch.get_num_threads()} threads), {a.steps} steps; ms per model and step")
    for name, cls in (("torch nn.Dropout", nn.Dropout), ("imbench Dropout", Dropout)):
        make = _with(cls)
        train_model(make(), X, y, bench._mlp_schedule(5, "none"), seed=0)  # warm-up
        t0 = time.perf_counter()
        for s in range(a.seq_models):
            train_model(make(), X, y, sched, seed=s)
        seq = (time.perf_counter() - t0) / a.seq_models / a.steps * 1000
        train_models_batched(make, [(X, y, None)], bench._mlp_schedule(5, "none"), list(range(a.n)))
        t0 = time.perf_counter()
        train_models_batched(make, [(X, y, None)], sched, list(range(a.n)))
        bat = (time.perf_counter() - t0) / a.n / a.steps * 1000
        rows.append({"dropout": name, "sequential_ms_per_step": seq, f"batched_{a.n}_ms_per_model_step": bat})
        print(f"  {name:18s} sequential {seq:6.2f}   batched (N={a.n}) {bat:6.2f}   ratio {seq / bat:.2f}")
    result = {"command": " ".join(sys.argv), "steps": a.steps, "n": a.n, "rows": rows,
              "hardware": provenance.hardware("cpu"), "versions": provenance.versions(), "git": provenance.git_state()}
    path = bench.write_result(a.out, "dropout-", result)
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
