"""Throughput benchmarks (issue 3): batched vs sequential classifier training, TorchSMOTE vs imbalanced-learn.

    python benchmarks/run.py [--device cpu|cuda] [--quick] [--budget-s S] [--sections mlp,cnn,smote] [--out DIR]

Prints tables and writes ``<out>/<host>-<date>-<time>.json`` (default ``benchmarks/results/``) with the
hardware, library versions, git commit and every measurement.

1. **MLP** -- Fajardo et al.'s Table 14 MLP (784-512-512-10, ReLU, dropout 0.2, RMSprop lr 1e-3 rho 0.9,
   batch 128) on a training set of the size a Fajardo-skewed MNIST set has once balanced by
   oversampling (10 classes x 3,200 = 32,000 rows x 784). Every model is a fixed number of steps
   (``--mlp-steps``); sequential = ``imbench.classifiers.train.train_model`` one model after the other
   (what the runner does with ``batch_runs=false``), batched = ``train_models_batched`` with N models at
   once (``batch_runs=true``). Models per minute are measured at that step count; each configuration is
   also timed at a few steps, which splits its time into a fixed part (building and stacking the models,
   CUDA-graph capture) and a part per step, and gives the models per minute of a full Fajardo model
   (20 epochs = 5,000 steps).
2. **CNN** -- IMSIC's classifier (``conf/classifier/cnn.yaml``: conv5x5(32)-pool-conv5x5(64)-pool-dropout
   0.5-FC1000-FC10, Adam 1e-4, batch 64) on 1x32x32 inputs, same protocol. (The network has no
   BatchNorm, so vmap needs no special buffer handling.)
3. **SMOTE** -- MNIST-scale flattened data (784 features), every class balanced to 6,000: imbalanced-
   learn's SMOTE vs :class:`imbench.methods.torch_smote.TorchSMOTE` on the CPU and on the GPU when
   asked for. ``cuda``: numpy in and out, as the harness calls it (the time includes the copies to
   and from the GPU; writing the 188 MB result into fresh host memory is most of it);
   ``cuda, resident``: the same with torch tensors already on the GPU, as in a GPU pipeline.

The inputs are random (training speed and the neighbour search do not depend on the values). Times
are wall-clock seconds with ``torch.cuda.synchronize()`` before each reading on CUDA, after a warm-up.
Each section gets a share of ``--budget-s``; a measurement that would not fit is skipped and listed as
such (sequential training is timed on at most ``--seq-cap`` models and scaled to N; the table marks it).
Precision follows ``classifier.schedule.amp`` (``--amp``; bf16 autocast on CUDA, float32 on the CPU).
Needs torch and numpy only; imbalanced-learn for the SMOTE comparison (skipped with a note without it).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import socket
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imbench import provenance  # noqa: E402
from imbench.classifiers.batched import train_models_batched  # noqa: E402
from imbench.classifiers.models import MLP, ConvNet  # noqa: E402
from imbench.classifiers.train import Schedule, precision_for, train_model  # noqa: E402

FAJARDO_ROWS = 32_000          # 10 classes x 3,200 after balancing (Fajardo's majority class size)
FAJARDO_FULL_STEPS = 20 * math.ceil(FAJARDO_ROWS / 128)      # 20 epochs, batch 128 = 5,000 steps
CNN_ROWS = 32_000
CNN_FULL_STEPS = 8 * math.ceil(CNN_ROWS / 64)                # IMSIC: 8 epochs, batch 64 = 4,000 steps


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


class Budget:
    """Wall-clock deadlines: the whole run, and the current section."""

    def __init__(self, total_s: float) -> None:
        self.t0 = time.perf_counter()
        self.total = total_s
        self.section_end = self.t0 + total_s

    def start_section(self, share: float) -> None:
        now = time.perf_counter()
        self.section_end = min(self.t0 + self.total, now + share * (self.t0 + self.total - now))

    def left(self) -> float:
        return self.section_end - time.perf_counter()


# ------------------------------------------------------------------ classifiers

def _mlp() -> torch.nn.Module:
    return MLP(784, 10, hidden=(512, 512), dropout=0.2, activation="relu", init="keras")


def _mlp_schedule(steps: int, amp: str) -> Schedule:
    return Schedule(steps=steps, batch_size=128, optimizer="rmsprop", lr=1e-3, alpha=0.9, eps=1e-7, amp=amp)


def _cnn() -> torch.nn.Module:
    return ConvNet(1, 32, 10, width=(32, 64), fc=1000, dropout=0.5)


def _cnn_schedule(steps: int, amp: str) -> Schedule:
    return Schedule(steps=steps, batch_size=64, optimizer="adam", lr=1e-4, amp=amp)


def _fit_line(s0: int, t0: float, s1: int, t1: float) -> tuple[float, float]:
    """(fixed seconds, seconds per step) through two timings; the per-step part is kept positive."""
    per_step = max((t1 - t0) / (s1 - s0), 1e-9)
    return max(t1 - s1 * per_step, 0.0), per_step


def bench_training(name: str, make: Callable[[], torch.nn.Module], schedule: Callable[[int], Schedule],
                   X: torch.Tensor, y: torch.Tensor, ns: list[int], steps: int, full_steps: int, seq_cap: int,
                   budget: Budget, device: torch.device) -> dict:
    """Models per minute, sequential (timed on up to ``seq_cap`` models) vs batched with each N in ``ns``.

    Every configuration is timed at ``steps`` steps per model and at a few steps (``s0``); the two give
    a fixed cost (model building, stacking, CUDA-graph capture) and a cost per step, from which a full
    model (``full_steps`` steps) is extrapolated."""
    cuda = device.type == "cuda"
    s0 = 8 if cuda else max(1, steps // 5)  # > 2 x 3 eager steps: the CUDA-graph path is in the fixed cost
    notes: list[str] = []
    # warm-up: kernels, allocator, cuDNN autotuning, lazy imports
    torch.manual_seed(0)
    train_model(make().to(device), X, y, schedule(3), seed=0)
    train_models_batched(make, [(X, y, None)], schedule(s0), [0, 1], device=device)
    _sync(device)

    def seq(n_steps: int, seed: int) -> float:
        _sync(device)
        t0 = time.perf_counter()
        torch.manual_seed(seed)
        train_model(make().to(device), X, y, schedule(n_steps), seed=seed)
        _sync(device)
        return time.perf_counter() - t0

    t_seq_small = min(seq(s0, 100 + i) for i in range(2))
    n_seq, t_seq = 0, 0.0
    while n_seq < seq_cap:  # sequential: at most seq_cap models, at most ~1/4 of the section's budget
        t_seq += seq(steps, n_seq)
        n_seq += 1
        if n_seq >= 2 and t_seq > 0.25 * max(budget.left(), 0):
            break
    per_model_seq = t_seq / n_seq
    seq_fixed, seq_step = _fit_line(s0, t_seq_small, steps, per_model_seq)
    seq_mpm = 60.0 / per_model_seq
    seq_full_mpm = 60.0 / (seq_fixed + full_steps * seq_step)
    rows = []
    last = None  # (n, seconds) of the last batched measurement, to predict the next
    for n in ns:
        predicted = (last[1] * n / last[0]) if last else per_model_seq * n / 2
        if budget.left() < predicted * (1.5 if cuda else 1.3) and rows:
            notes.append(f"N={n} skipped: about {predicted:.0f} s predicted, {max(budget.left(), 0):.0f} s of the "
                         "section's budget left")
            continue
        try:
            if cuda:  # shapes change with N: one short warm-up per N
                train_models_batched(make, [(X, y, None)], schedule(2), list(range(n)), device=device)
            times = {}
            for n_steps in (s0, steps):
                _sync(device)
                t0 = time.perf_counter()
                res = train_models_batched(make, [(X, y, None)], schedule(n_steps), list(range(n)), device=device)
                _sync(device)
                times[n_steps] = time.perf_counter() - t0
                ok = all(res.ok)
                del res
        except (torch.cuda.OutOfMemoryError, RuntimeError) as e:  # noqa: PERF203
            notes.append(f"N={n} failed: {type(e).__name__}: {str(e)[:200]}")
            if cuda:
                torch.cuda.empty_cache()
            continue
        if not ok:
            notes.append(f"N={n}: some member diverged")
        t_bat = times[steps]
        fixed, per_step = _fit_line(s0, times[s0], steps, t_bat)
        last = (n, t_bat + times[s0])
        bat_mpm = 60.0 * n / t_bat
        bat_full_mpm = 60.0 * n / (fixed + full_steps * per_step)
        rows.append({
            "n_models": n, "steps_per_model": steps, "batched_s": t_bat, "batched_s_at_s0": times[s0], "s0": s0,
            "batched_fixed_s": fixed, "batched_ms_per_step": 1000 * per_step,
            "seq_s": per_model_seq * n, "seq_timed_models": n_seq, "seq_extrapolated": n_seq < n,
            "seq_models_per_min": seq_mpm, "batched_models_per_min": bat_mpm, "speedup": bat_mpm / seq_mpm,
            "full_model_steps": full_steps, "seq_full_models_per_min": seq_full_mpm,
            "batched_full_models_per_min": bat_full_mpm, "full_speedup": bat_full_mpm / seq_full_mpm,
        })
    return {"name": name, "precision": precision_for(schedule(steps), device), "n_train": int(len(y)),
            "input_shape": list(X.shape[1:]), "steps_per_model": steps, "full_model_steps": full_steps,
            "seq_seconds_per_model": per_model_seq, "seq_timed_models": n_seq, "seq_fixed_s": seq_fixed,
            "seq_ms_per_step": 1000 * seq_step, "s0": s0, "rows": rows, "notes": notes}


# ------------------------------------------------------------------ SMOTE

def _smote_data(counts: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(c, i, dtype=np.int64) for i, c in enumerate(counts)])
    return rng.random((len(y), 784), dtype=np.float32), y


def bench_smote(devices: list[torch.device], scenarios: dict[str, list[int]], reps: int, budget: Budget) -> dict:
    from imbench.methods.torch_smote import TorchSMOTE

    try:
        from imblearn.over_sampling import SMOTE
    except ImportError as e:
        SMOTE, imb_note = None, f"imbalanced-learn not importable here ({e}): its column is empty"
    else:
        imb_note = None
    for d in devices:  # warm-up (CUDA context, kernels)
        Xw, yw = _smote_data([300, 40])
        TorchSMOTE(random_state=0, device=d).fit_resample(Xw, yw)
        _sync(d)
    out = {"reps": reps, "scenarios": [], "notes": [imb_note] if imb_note else []}

    def best_of(fn) -> float:
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
            if budget.left() < 0:
                break
        return min(times)

    for name, counts in scenarios.items():
        if budget.left() <= 0:
            out["notes"].append(f"scenario {name} skipped: budget spent")
            continue
        X, y = _smote_data(counts)
        row: dict = {"scenario": name, "counts_before": counts, "n_in": int(len(y)),
                     "n_out": int(max(counts) * len(counts)), "features": 784}
        if SMOTE is not None:
            row["imblearn_s"] = best_of(lambda: SMOTE(k_neighbors=5, random_state=0).fit_resample(X, y))
        for d in devices:
            def run(d=d):
                Xr, yr = TorchSMOTE(k_neighbors=5, random_state=0, device=d).fit_resample(X, y)
                _sync(d)
                assert len(yr) == row["n_out"]
            row[f"torch_{d.type}_s"] = best_of(run)
            if "imblearn_s" in row:
                row[f"speedup_{d.type}"] = row["imblearn_s"] / row[f"torch_{d.type}_s"]
            if d.type == "cuda":  # tensors already on the GPU in and out (a GPU pipeline): no host copies
                Xd, yd = torch.as_tensor(X).to(d), torch.as_tensor(y).to(d)

                def run_resident(d=d):
                    Xr, yr = TorchSMOTE(k_neighbors=5, random_state=0).fit_resample(Xd, yd)
                    _sync(d)
                    assert len(yr) == row["n_out"]
                row["torch_cuda_resident_s"] = best_of(run_resident)
                if "imblearn_s" in row:
                    row["speedup_cuda_resident"] = row["imblearn_s"] / row["torch_cuda_resident_s"]
                del Xd, yd
        out["scenarios"].append(row)
    return out


def write_result(out_dir: str | Path, prefix: str, result: dict) -> Path:
    """Write a benchmark's result as ``<out_dir>/<prefix><host>-<date>-<time>.json``; returns the path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{prefix}{socket.gethostname()}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=1, default=str))
    return path


def mlp_step_floor(device: torch.device, n: int, batch: int = 128, dims=(784, 512, 512, 10), reps: int = 20) -> dict:
    """What a training step of the Table 14 MLP costs per model at the least, with ``n`` models batched:
    the work no batching removes, timed on this device in its cheapest batched form -- the matrix
    products (forward, weight gradients, input gradients; as ``bmm`` over n models), the dropout masks
    (``uniform_``, the cheapest RNG) and the RMSprop update (over n stacked parameter vectors at once or
    model by model, whichever is faster).
    ``bound = sequential ms per step / floor`` is the most any batched implementation can gain here."""
    def timed(fn) -> float:
        fn()
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        _sync(device)
        return (time.perf_counter() - t0) / reps

    layers = list(zip(dims[:-1], dims[1:]))
    mats = []
    for i, (a, b) in enumerate(layers):
        mats.append((torch.rand(n, batch, a, device=device), torch.rand(n, a, b, device=device)))  # forward
        mats.append((torch.rand(n, a, batch, device=device), torch.rand(n, batch, b, device=device)))  # dW
        if i:
            mats.append((torch.rand(n, batch, b, device=device), torch.rand(n, b, a, device=device)))  # dX
    gemm = timed(lambda: [torch.bmm(x, w) for x, w in mats])
    masks = [torch.empty(n, batch, h, device=device) for h in dims[1:-1]]
    rng = timed(lambda: [m.uniform_() for m in masks])
    n_params = sum(a * b + b for a, b in layers)
    P, G, V = (torch.rand(n, n_params, device=device) for _ in range(3))
    def rmsprop(p, g, v):
        v.mul_(0.9).addcmul_(g, g, value=0.1)
        p.addcdiv_(g, v.sqrt().add_(1e-7), value=-1e-3)

    # one pass over all n models, or model by model (each slice stays in cache): the cheaper counts
    opt = min(timed(lambda: rmsprop(P, G, V)), timed(lambda: [rmsprop(P[i], G[i], V[i]) for i in range(n)]))
    flops = 2 * batch * sum(a * b for a, b in layers) * 3 - 2 * batch * dims[0] * dims[1]  # no dX for layer 1
    return {"n_models": n, "gemm_ms_per_model": 1000 * gemm / n, "dropout_rng_ms_per_model": 1000 * rng / n,
            "rmsprop_ms_per_model": 1000 * opt / n, "floor_ms_per_model": 1000 * (gemm + rng + opt) / n,
            "gemm_gflops": flops * n / gemm / 1e9, "n_params": n_params}


# ------------------------------------------------------------------ report

def targets(result: dict, device: torch.device) -> list[dict]:
    """The issue's throughput targets next to what this run measured."""
    def speedup(sec: str, n: int, key: str):
        rows = [r for r in result.get(sec, {}).get("rows", []) if r["n_models"] == n]
        return rows[0][key] if rows else None

    out = []
    if "mlp" in result:
        n, target = (128, 50) if device.type == "cuda" else (16, 2)
        out.append({"what": f"{n} batched MLPs vs sequential ({device.type}), at "
                            f"{result['mlp']['steps_per_model']} steps per model", "measured": speedup("mlp", n, "speedup"),
                    "target": target})
        out.append({"what": f"{n} batched MLPs vs sequential ({device.type}), full models (extrapolated)",
                    "measured": speedup("mlp", n, "full_speedup"), "target": target})
    if "smote" in result and device.type == "cuda":
        for key, what in (("speedup_cuda", "numpy in and out"), ("speedup_cuda_resident", "tensors on the GPU")):
            vals = [r[key] for r in result["smote"]["scenarios"] if r.get(key)]
            out.append({"what": f"TorchSMOTE on the GPU ({what}) vs imbalanced-learn, worst scenario",
                        "measured": min(vals) if vals else None, "target": 20})
    return out


def environment(device: torch.device, commit: str | None) -> dict:
    env = {"host": socket.gethostname(), **provenance.hardware(str(device)), "versions": provenance.versions(),
           "git": provenance.git_state(), "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
           "python": platform.python_version(), "command": " ".join(sys.argv),
           "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}
    if commit:
        env["git"] = {"commit": commit, "dirty": None, "given_on_command_line": True}
    try:
        env["cpu_model"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        env.update({"gpu": p.name, "gpu_memory_gib": round(p.total_memory / 2**30, 1),
                    "gpu_multiprocessors": p.multi_processor_count, "cuda": torch.version.cuda,
                    "cudnn": torch.backends.cudnn.version()})
    return env


def print_training(sec: dict, device: torch.device) -> None:
    print(f"\n{sec['name']} on {device} ({sec['precision']}), {sec['n_train']} x {sec['input_shape']} training rows, "
          f"{sec['steps_per_model']} steps per model; a full model = {sec['full_model_steps']} steps")
    print(f"  sequential: {sec['seq_seconds_per_model']:.3f} s per model (timed on {sec['seq_timed_models']} models) "
          f"= {sec['seq_fixed_s']:.3f} s fixed + {sec['seq_ms_per_step']:.2f} ms per step")
    print(f"  {'N':>4} | {'batched s':>9} {'seq s':>8} {'models/min seq':>14} {'batched':>9} {'speedup':>8} | "
          f"{'fixed s':>7} {'ms/step':>8} | {'full models/min seq':>19} {'batched':>8} {'speedup':>8}")
    for r in sec["rows"]:
        star = "*" if r["seq_extrapolated"] else " "
        print(f"  {r['n_models']:>4} | {r['batched_s']:>9.2f} {r['seq_s']:>7.2f}{star} {r['seq_models_per_min']:>14.1f} "
              f"{r['batched_models_per_min']:>9.1f} {r['speedup']:>7.2f}x | {r['batched_fixed_s']:>7.2f} "
              f"{r['batched_ms_per_step']:>8.2f} | {r['seq_full_models_per_min']:>19.2f} "
              f"{r['batched_full_models_per_min']:>8.2f} {r['full_speedup']:>7.2f}x")
    if any(r["seq_extrapolated"] for r in sec["rows"]):
        print(f"  * sequential time scaled from {sec['seq_timed_models']} timed models")
    print(f"  (full model: fixed + {sec['full_model_steps']} x per-step cost, both fitted from runs of "
          f"{sec['s0']} and {sec['steps_per_model']} steps)")
    for n in sec["notes"]:
        print(f"  note: {n}")


def print_smote(sec: dict) -> None:
    print(f"\nSMOTE (k=5) on 784-feature data, every class balanced to the majority count (best of {sec['reps']})")
    for r in sec["scenarios"]:
        parts = [f"imblearn {r['imblearn_s']:.3f} s" if "imblearn_s" in r else "imblearn -"]
        for k, v in r.items():
            if k.startswith("torch_"):
                dev = k[len("torch_"):-len("_s")]
                ratio = f" ({r[f'speedup_{dev}']:.1f}x)" if f"speedup_{dev}" in r else ""
                parts.append(f"TorchSMOTE[{dev.replace('_', ', ')}] {v:.3f} s{ratio}")
        print(f"  {r['scenario']:<28} {r['n_in']:>6} -> {r['n_out']:>6} rows: " + "   ".join(parts))
    for n in sec["notes"]:
        print(f"  note: {n}")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test that finishes in seconds")
    ap.add_argument("--budget-s", type=float, default=None,
                    help="wall-clock budget for all sections (default: 200 on cuda, 420 on cpu, 60 with --quick)")
    ap.add_argument("--sections", default="mlp,cnn,smote")
    ap.add_argument("--amp", default="bf16", choices=["bf16", "none"], help="classifier.schedule.amp (CUDA only)")
    ap.add_argument("--mlp-steps", type=int, default=None, help="steps per model (default: 500 cuda, 50 cpu)")
    ap.add_argument("--cnn-steps", type=int, default=None, help="steps per model (default: 60 cuda, 5 cpu)")
    ap.add_argument("--ns", default=None, help="comma-separated N (default: 1,8,32,128 cuda; 1,8,16,32 cpu)")
    ap.add_argument("--seq-cap", type=int, default=None, help="at most this many sequential models are timed")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"), help="folder for the JSON")
    ap.add_argument("--commit", default=None, help="git commit to record when this tree has no .git")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (default: torch's). On a CPU shared with other busy processes use 1: "
                         "with more threads than idle cores every parallel op waits for a descheduled thread")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: CUDA is not available here")
    cuda = device.type == "cuda"
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    total = args.budget_s or (60.0 if args.quick else 200.0 if cuda else 420.0)
    budget = Budget(total)
    if args.quick:
        ns, mlp_steps, cnn_steps, seq_cap, rows = [1, 4], 5, 2, 2, 2048
    else:
        ns = [1, 8, 32, 128] if cuda else [1, 8, 16, 32]
        mlp_steps, cnn_steps, seq_cap, rows = (500, 60, 8, FAJARDO_ROWS) if cuda else (50, 5, 4, FAJARDO_ROWS)
    ns = [int(n) for n in args.ns.split(",")] if args.ns else ns
    mlp_steps = args.mlp_steps or mlp_steps
    cnn_steps = args.cnn_steps or cnn_steps
    seq_cap = args.seq_cap or seq_cap
    shares = {"mlp": 0.4, "cnn": 0.4, "smote": 0.2}
    active = {k: v for k, v in shares.items() if k in sections}
    result: dict = {"quick": args.quick, "budget_s": total, "environment": environment(device, args.commit)}
    print(f"imbench throughput benchmark: device={device}"
          + (f" ({result['environment'].get('gpu')})" if cuda else f" ({result['environment'].get('cpu_model', '?')}, "
             f"{torch.get_num_threads()} threads)") + f", budget {total:.0f} s")
    g = torch.Generator().manual_seed(0)
    left_share = sum(active.values())
    for name in ("mlp", "cnn", "smote"):
        if name not in active:
            continue
        budget.start_section(active[name] / left_share)
        left_share -= active[name]
        t0 = time.perf_counter()
        if name == "mlp":
            X = torch.rand(rows, 784, generator=g).to(device)
            y = torch.randint(0, 10, (rows,), generator=g).to(device)
            sec = bench_training("MLP 784-512-512-10 (Fajardo Table 14)", _mlp,
                                 lambda s: _mlp_schedule(s, args.amp), X, y, ns, mlp_steps, FAJARDO_FULL_STEPS,
                                 seq_cap, budget, device)
            floor = mlp_step_floor(device, n=max(ns))
            floor["bound"] = sec["seq_ms_per_step"] / floor["floor_ms_per_model"]
            sec["floor"] = floor
            print(f"  floor per model and step with {floor['n_models']} batched: products "
                  f"{floor['gemm_ms_per_model']:.2f} ms ({floor['gemm_gflops']:.0f} GFLOP/s) + dropout masks "
                  f"{floor['dropout_rng_ms_per_model']:.2f} ms + RMSprop {floor['rmsprop_ms_per_model']:.2f} ms = "
                  f"{floor['floor_ms_per_model']:.2f} ms; sequential {sec['seq_ms_per_step']:.2f} ms per step, so "
                  f"no batching can be faster than {floor['bound']:.2f}x here")
        elif name == "cnn":
            X = torch.rand(rows, 1, 32, 32, generator=g).to(device) * 2 - 1
            y = torch.randint(0, 10, (rows,), generator=g).to(device)
            sec = bench_training("CNN conv32-conv64-FC1000 (IMSIC)", _cnn, lambda s: _cnn_schedule(s, args.amp),
                                 X, y, ns, cnn_steps, CNN_FULL_STEPS, seq_cap, budget, device)
            print_training(sec, device)
        else:
            scen = ({"2 classes 600/60": [600, 60]} if args.quick else {
                "1 x 6000 + 9 x 300": [6000] + [300] * 9,
                "exp 6000..600 (IR 10)": [int(round(6000 * 10 ** (-i / 9))) for i in range(10)],
            })
            devices = [torch.device("cpu")] + ([device] if cuda else [])
            sec = bench_smote(devices, scen, reps=1 if args.quick else 2, budget=budget)
            print_smote(sec)
        sec["wall_s"] = time.perf_counter() - t0
        result[name] = sec
        X = y = None
        if cuda:
            torch.cuda.empty_cache()
    result["targets"] = targets(result, device)
    if result["targets"]:
        print("\nissue 3 targets (measured ratio vs target):")
        for t in result["targets"]:
            got = "not measured" if t["measured"] is None else f"{t['measured']:.1f}x"
            print(f"  {t['what']}: {got} (target >= {t['target']}x)")
    result["wall_s"] = time.perf_counter() - budget.t0
    path = write_result(args.out, "", result)
    print(f"\ntotal {result['wall_s']:.0f} s; wrote {path}")
    return result


if __name__ == "__main__":
    main()
