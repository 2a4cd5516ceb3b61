"""IMSIC and InfoGAN on the CPU: seconds per training iteration, and what Eq. 6 does as written.

    python benchmarks/imsic_iteration.py [--iterations 160] [--device cpu|cuda] [--out DIR]

1. Seconds per iteration (one G step, one D step, one info step at batch 64 on 32×32 images) of InfoGAN
   and IMSIC in paper mode, on the first images of MNIST with GAMO's class counts (random images of
   MNIST's shape when MNIST is not under the data root), and the paper's schedule extrapolated from them:
   500 epochs of the 9,000-image GAMO-skewed set at 140 full batches per epoch = 70,000 iterations.
2. IMSIC paper mode with Eq. 6 as written (``nonparent_cap=None``) beside the default independence cap,
   the same seed and data: the info loss per logged stretch of iterations. As written the loss has no
   lower limit; the record shows how far it falls in ``--iterations`` iterations.

Prints the figures and writes ``benchmarks/results/imsic_iteration-<host>-<date>.json`` (or into ``--out``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imbench import provenance  # noqa: E402
from imbench.errors import TrainingError  # noqa: E402
from imbench.methods.generative.infogan import IMSICSampler, InfoGANSampler  # noqa: E402

GAMO_COUNTS = (4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40)
PAPER_ITERATIONS = 500 * (sum(GAMO_COUNTS) // 64)
STRETCHES = 8  # the info loss is logged per "epoch"; an epoch here is iterations / STRETCHES batches


def gamo_mnist() -> tuple[np.ndarray, np.ndarray, str]:
    """The first n_c training images of each MNIST class at GAMO's counts, or random stand-ins."""
    try:
        from imbench.data.datasets import load_dataset

        ds = load_dataset({"kind": "image", "dataset": "mnist"})
        idx = np.concatenate([np.flatnonzero(ds.y_train == c)[:n] for c, n in enumerate(GAMO_COUNTS)])
        return ds.X_train[idx], ds.y_train[idx], "mnist (first images of each class, GAMO counts)"
    except Exception as exc:  # noqa: BLE001 - a benchmark still runs without the data
        rng = np.random.default_rng(0)
        y = np.concatenate([np.full(n, c) for c, n in enumerate(GAMO_COUNTS)])
        return rng.random((len(y), 28, 28), dtype=np.float32), y, f"random images ({type(exc).__name__})"


def timed(cls):
    """``cls`` with the wall time of its GAN training (not the code matching or the synthesis) kept."""
    class Timed(cls):
        def _fit_generator(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return super()._fit_generator(*args, **kwargs)
            finally:
                self.train_seconds_ = time.perf_counter() - start
    Timed.__name__ = cls.__name__
    return Timed


def train(cls, X, y, iterations: int, device: str, **kwargs) -> dict:
    per_stretch = max(1, iterations // STRETCHES)
    # one synthetic image of the rarest class: the benchmark is about training, not synthesis
    sampler = timed(cls)(epochs=STRETCHES, max_batches_per_epoch=per_stretch, batch_size=64, device=device,
                         random_state=0, match_samples=10, sampling_strategy={9: int((y == 9).sum()) + 1},
                         **kwargs)
    start = time.perf_counter()
    outcome = "finished"
    try:
        sampler.fit_resample(X, y)
    except TrainingError as exc:
        outcome = f"stopped: {exc}"
    seconds = time.perf_counter() - start
    history = getattr(sampler, "history_", [])
    done = len(history) * per_stretch
    return {"iterations": done, "seconds_total": round(seconds, 2),
            "train_seconds": round(getattr(sampler, "train_seconds_", float("nan")), 2),
            "info_loss_per_stretch": [round(float(h["info"]), 4) for h in history],
            "g_loss_per_stretch": [round(float(h["g"]), 4) for h in history],
            "outcome": outcome, "iterations_per_stretch": per_stretch,
            "fit_seconds": getattr(sampler, "fit_seconds_", None)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=160)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    X, y, source = gamo_mnist()
    print(f"data: {source}, {len(y)} images; {args.iterations} iterations per arm on {args.device} "
          f"({torch.get_num_threads()} threads)")
    arms = {
        "infogan": (InfoGANSampler, {}),
        "imsic_paper_capped": (IMSICSampler, {"mode": "paper"}),
        "imsic_paper_as_written": (IMSICSampler, {"mode": "paper", "nonparent_cap": None}),
    }
    results = {}
    for name, (cls, kwargs) in arms.items():
        r = train(cls, X, y, args.iterations, args.device, **kwargs)
        r["s_per_iteration"] = round(r["train_seconds"] / max(r["iterations"], 1), 4)
        r["paper_schedule_hours"] = round(r["s_per_iteration"] * PAPER_ITERATIONS / 3600, 2)
        results[name] = r
        print(f"{name:24s} {r['s_per_iteration'] * 1000:7.1f} ms/iteration  paper schedule "
              f"({PAPER_ITERATIONS} it) ≈ {r['paper_schedule_hours']:.1f} h   info loss "
              f"{r['info_loss_per_stretch'][:1]} → {r['info_loss_per_stretch'][-1:]}  ({r['outcome'][:80]})")
    record = {"data": source, "paper_iterations": PAPER_ITERATIONS, "arms": results,
              "torch_threads": torch.get_num_threads(),
              "note": "s_per_iteration = wall seconds of the GAN training / iterations (code matching and "
                      "synthesis excluded; seconds_total includes them)"}
    path = provenance.write_benchmark(record, "imsic_iteration", args.out, args.device, __file__,
                                      sys.argv[1:] if argv is None else argv)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
