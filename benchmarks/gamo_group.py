"""Milliseconds per GAMO mini-batch and training, one training at a time against N trainings as one batched
group (``imbench.methods.gamo.group``), dense MNIST form (GAMO's counts, 9,000 × 784 inputs), measured
side by side in one process.

    python benchmarks/gamo_group.py [--steps 100] [--groups 3 10] [--repeats 3] [--device cpu|cuda] [--out DIR]

"alone" is imbench's :class:`GamoTrainer` (one training); "group of N" is :class:`GamoGroupTrainer` on N
members (each with its own draw of the data and its own seed). The figure that matters is the time per
mini-batch *per training*: a group of N that takes less than N times a single training's time makes a
table cell's repeats cheaper. Writes ``<out>/gamo_group-<host>-<date>-<time>.json``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from gamo_step import build, timed  # noqa: E402

from imbench import provenance  # noqa: E402
from imbench.methods.gamo.group import GamoGroupTrainer  # noqa: E402


def build_group(n: int, steps: int, device: torch.device) -> GamoGroupTrainer:
    singles = [build(False, "batch", steps, device, seed=i) for i in range(n)]
    s0 = singles[0]
    return GamoGroupTrainer([t.p for t in singles], s0.obj, s0.s, s0.layout, torch.stack([t.X for t in singles]),
                            torch.stack([t.y for t in singles]), [t.seed for t in singles])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--groups", type=int, nargs="+", default=[3, 10])
    ap.add_argument("--repeats", type=int, default=3, help="timings per variant (interleaved); the median is reported")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    a = ap.parse_args(argv)
    device = torch.device(a.device)
    times: dict[str, list[float]] = {}
    for _ in range(a.repeats):  # interleaved, so that machine noise hits every variant alike
        times.setdefault("alone", []).append(timed(lambda s: build(False, "batch", s, device), a.steps, device, warmup=10))
        for n in a.groups:
            times.setdefault(f"group_{n}", []).append(timed(lambda s, n=n: build_group(n, s, device), a.steps, device, warmup=10))
    median = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    alone = median["alone"]
    print(f"GAMO dense MNIST, {a.steps} mini-batches on {device} ({torch.get_num_threads()} threads), median of "
          f"{a.repeats}; ms per mini-batch")
    print(f"  one training alone        {alone:8.2f}")
    rows = [{"group_size": 1, "ms_per_minibatch": alone, "ms_per_training_minibatch": alone, "speedup": 1.0}]
    for n in a.groups:
        per = median[f"group_{n}"] / n
        rows.append({"group_size": n, "ms_per_minibatch": median[f"group_{n}"], "ms_per_training_minibatch": per,
                     "speedup": alone / per})
        print(f"  group of {n:2d}: {median[f'group_{n}']:8.2f}  = {per:7.2f} per training  ×{alone / per:.2f}")
    minutes = {r["group_size"]: r["ms_per_training_minibatch"] * 25000 / 60000 for r in rows}
    print("  a 25,000-mini-batch training: " + ", ".join(f"{m:.1f} min ({'alone' if n == 1 else f'in a group of {n}'})"
                                                           for n, m in minutes.items()))
    result = {"benchmark": "gamo_group", "device": str(device), "threads": torch.get_num_threads(), "steps": a.steps,
              "rows": rows, "minutes_per_training": minutes, "all_ms": times}
    path = provenance.write_benchmark(result, "gamo_group", a.out, str(device), __file__, argv or sys.argv[1:])
    print(f"written {path}")
    return result


if __name__ == "__main__":
    main()
