"""Milliseconds per training step in float32 vs bfloat16 autocast: CGAN, CVAE, the Table 14 MLP, IMSIC's
InfoGAN and CNN, and where a CGAN step's time goes.

    python benchmarks/bf16_cpu.py [--device cpu] [--steps 10] [--trials 3] [--arms cgan,cvae,mlp,infogan,cnn]
                                  [--no-profile] [--out DIR]

Each arm trains under the job setting it names (:mod:`imbench.precision`): ``amp=none`` (float32) and
``amp=bf16``. On a CPU without native bfloat16 (no avx512_bf16 / AMX), ``amp=bf16`` would train in
float32, so this script autocasts anyway (``require_native=False``) to measure what emulation costs; the
record says which CPU it was (``hardware.cpu_bf16``). Arms alternate trial by trial (the machine is
shared and noisy: a ratio measured side by side is what counts); the median per arm is reported.

* ``cgan`` / ``cvae``: Fajardo's samplers, batch 64, ``--steps`` mini-batches of 28×28 images (one epoch).
* ``mlp``: the Table 14 MLP (784-512-512-10, RMSprop, batch 128), ``--steps`` mini-batches.
* ``infogan``: IMSIC's baseline InfoGAN (32×32, one G, D and info step per mini-batch of 64), the GAN that
  IMSIC adds its regulariser to; ``--steps`` mini-batches.
* ``cnn``: IMSIC's downstream CNN (1×32×32, Adam, batch 64), ``--steps`` mini-batches.
* ``matmul``: one 2048² product, the rate the hardware gives each dtype (GFLOP/s).
* ``profile``: the ten operators with the most self CPU time in a CGAN epoch, per arm (torch.profiler).

Writes ``<out>/bf16_cpu-<host>-<date>-<time>.json``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import run as bench  # noqa: E402
from imbench import provenance  # noqa: E402
from imbench.classifiers.models import MLP, cnn  # noqa: E402
from imbench.classifiers.train import Schedule, train_model  # noqa: E402
from imbench.methods.generative.cgan import CGANSampler  # noqa: E402
from imbench.methods.generative.cvae import CVAESampler  # noqa: E402
from imbench.methods.generative.infogan import InfoGANSampler  # noqa: E402
from imbench.precision import PrecisionPolicy, precision_policy  # noqa: E402

ARMS = {"float32": PrecisionPolicy("none"), "bf16": PrecisionPolicy("bf16", require_native=False)}
SAMPLERS = {"cgan": CGANSampler, "cvae": CVAESampler, "infogan": InfoGANSampler}
ARM_NAMES = ("cgan", "cvae", "mlp", "infogan", "cnn")


def _images(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.random((n, 28, 28), dtype=np.float32)
    y = np.arange(n) % 10
    y[::2] = 0  # imbalanced, so there is something to generate
    return X, y


def generator_step_ms(name: str, device: str, steps: int) -> tuple[float, str]:
    """One epoch of ``steps`` mini-batches of 64; ms per step of the generator's training alone."""
    X, y = _images(steps * 64)
    extra = {"match_samples": 10} if name == "infogan" else {}
    sampler = SAMPLERS[name](epochs=1, batch_size=64, device=device, random_state=0, **extra)
    sampler.fit_resample(X, y)
    return 1e3 * sampler.fit_seconds_ / steps, sampler.fit_info()["precision"]


def mlp_step_ms(device: str, steps: int) -> tuple[float, str]:
    X, y = _images(steps * 128)
    Xt = torch.as_tensor(X.reshape(len(X), -1), device=device)
    yt = torch.as_tensor(y, device=device)
    model = MLP(784, 10, hidden=(512, 512), dropout=0.2, activation="relu", init="keras").to(device)
    schedule = Schedule(steps=steps, batch_size=128, optimizer="rmsprop", lr=1e-3, alpha=0.9, eps=1e-7)
    t0 = time.perf_counter()
    result = train_model(model, Xt, yt, schedule, seed=0)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return 1e3 * (time.perf_counter() - t0) / steps, result.precision


def cnn_step_ms(device: str, steps: int) -> tuple[float, str]:
    X, y = _images(steps * 64)
    Xt = torch.nn.functional.interpolate(torch.as_tensor(X[:, None], device=device), size=32) * 2 - 1
    yt = torch.as_tensor(y, device=device)
    model = cnn((1, 32, 32), 10, width=(32, 64), fc=1000, dropout=0.5).to(device)
    schedule = Schedule(steps=steps, batch_size=64, optimizer="adam", lr=1e-4, shuffle="once")
    t0 = time.perf_counter()
    result = train_model(model, Xt, yt, schedule, seed=0)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return 1e3 * (time.perf_counter() - t0) / steps, result.precision


def matmul_gflops(dtype: torch.dtype, device: str, n: int = 2048, reps: int = 5) -> float:
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    a @ b
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def profile_cgan(device: str, steps: int) -> dict:
    from torch.profiler import ProfilerActivity, profile

    out = {}
    for arm, policy in ARMS.items():
        with precision_policy(policy), profile(activities=[ProfilerActivity.CPU]) as prof:
            generator_step_ms("cgan", device, steps)
        events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        total = sum(e.self_cpu_time_total for e in events) or 1
        out[arm] = [{"op": e.key, "self_cpu_share": round(e.self_cpu_time_total / total, 4), "calls": e.count}
                    for e in events[:10]]
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=10, help="mini-batches per timed training")
    ap.add_argument("--trials", type=int, default=3, help="timed trainings per arm (alternating)")
    ap.add_argument("--arms", default=",".join(ARM_NAMES), help="which trainings to time (comma-separated)")
    ap.add_argument("--no-profile", action="store_true", help="skip the CGAN profile")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    a = ap.parse_args(argv)
    chosen = [x for x in a.arms.split(",") if x]
    unknown = sorted(set(chosen) - set(ARM_NAMES))
    if unknown:
        ap.error(f"unknown arms {unknown}; choose from {', '.join(ARM_NAMES)}")
    all_timers = {"cgan": lambda n: generator_step_ms("cgan", a.device, n),
                  "cvae": lambda n: generator_step_ms("cvae", a.device, n),
                  "mlp": lambda n: mlp_step_ms(a.device, n),
                  "infogan": lambda n: generator_step_ms("infogan", a.device, n),
                  "cnn": lambda n: cnn_step_ms(a.device, n)}
    timers = {k: all_timers[k] for k in chosen}
    steps: dict = {}
    for name, timer in timers.items():
        samples = {arm: [] for arm in ARMS}
        ran_in = {}
        for arm, policy in ARMS.items():  # warm-up, a short training each
            with precision_policy(policy):
                timer(2)
        for _ in range(a.trials):
            for arm, policy in ARMS.items():
                with precision_policy(policy):
                    ms, ran_in[arm] = timer(a.steps)
                samples[arm].append(ms)
        med = {arm: statistics.median(v) for arm, v in samples.items()}
        steps[name] = {"ms_per_step": med, "trials": samples, "precision": ran_in,
                       "bf16_speedup": med["float32"] / med["bf16"]}
        print(f"{name:7s} float32 {med['float32']:7.2f} ms/step   bf16 {med['bf16']:7.2f} ms/step   "
              f"speed-up {steps[name]['bf16_speedup']:.2f}x  (ran in {ran_in['float32']} / {ran_in['bf16']})", flush=True)
    mm = {"float32": matmul_gflops(torch.float32, a.device), "bf16": matmul_gflops(torch.bfloat16, a.device)}
    print(f"2048^2 matmul: float32 {mm['float32']:.1f} GFLOP/s, bf16 {mm['bf16']:.1f} GFLOP/s "
          f"({mm['bf16'] / mm['float32']:.2f}x)")
    prof = {} if a.no_profile else profile_cgan(a.device, max(4, a.steps // 2))
    for arm, rows in prof.items():
        print(f"CGAN epoch, {arm}: " + ", ".join(f"{r['op']} {100 * r['self_cpu_share']:.0f}%" for r in rows[:6]))
    result = {"command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
              "device": a.device, "steps": a.steps, "trials": a.trials, "step": steps,
              "matmul_2048_gflops": mm, "cgan_profile": prof,
              "hardware": provenance.hardware(a.device), "versions": provenance.versions(),
              "git": provenance.git_state()}
    path = bench.write_result(a.out, "bf16_cpu-", result)
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
