"""Milliseconds per GAMO mini-batch (dense MNIST form: GAMO's counts, 9,000 × 784 inputs), imbench's trainer
against a straightforward PyTorch version of the same algorithm, measured side by side in one process.

    python benchmarks/gamo_step.py [--steps 200] [--repeats 3] [--device cpu|cuda] [--out DIR]

The straightforward version is what a first implementation does: every IGU scores every sample of the
batch and the rows of the sample's own class are kept (one batch × n_i product per class), torch's
default Adam, and G's backward passes also fill M's and D's gradients. imbench's trainer groups the batch
by class (each IGU sees only its own samples), reads the class points in the layouts the CPU's matrix
kernels are fast in (``ClassPoints``: the convex combinations' products, timed alone as well), calls
torch's fused Adam kernel without the optimiser's per-call bookkeeping (``FusedAdam``), and sends G's backward pass to G's parameters only. Both compute the same mathematics (``tests/test_gamo.py``
checks the grouping). Both settings of ``generator_updates`` are timed: ``batch`` (the paper's
Algorithm 1: two G steps per mini-batch) and ``per_class`` (the released code: two G steps per minority
class). On the CPU imbench's trainer is timed a second time with the class points in the layout the
hardware rule did not pick (:func:`imbench.methods.gamo.nets.default_points_layout`), side by side.

The matrix-product floor: the matrix products (``mm``, ``addmm``) one imbench mini-batch runs with the
paper's updates (their shapes recorded by torch's profiler over ``min(--steps, 50)`` mini-batches)
replayed back to back, each shape in the fastest of four operand layouts, into preallocated outputs,
with the same operands reused so they stay in cache: what these products cost with nothing else around
them. A mini-batch that computes these products cannot run faster on this machine's kernels. Writes ``<out>/gamo_step-<host>-<date>-<time>.json`` with the figures and the ratio.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Sequence

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imbench import provenance  # noqa: E402
from imbench.classifiers.models import mlp  # noqa: E402
from imbench.methods.gamo.nets import ClassBatch, ConditionalDiscriminator, ConvexGenerator  # noqa: E402
from imbench.methods.gamo.objective import Objective  # noqa: E402
from imbench.methods.gamo.trainer import ClassLayout, GamoSchedule, GamoTrainer, Players  # noqa: E402

COUNTS = (4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40)


class StraightforwardGenerator(ConvexGenerator):
    """Every IGU on the whole batch; each sample keeps its own class's row."""

    def forward(self, z: torch.Tensor, batch: ClassBatch, points: Sequence[torch.Tensor]) -> torch.Tensor:
        h = self.tmu(z, batch.labels)
        out = torch.zeros(len(z), points[0].shape[1], device=z.device)
        start = 0
        for igu, pts, k in zip(self.igus, points, batch.counts):
            full = torch.softmax(igu(h), dim=1) @ pts
            rows = torch.zeros(len(z), 1, device=z.device)
            rows[start:start + k] = 1.0
            out = out + rows * full
            start += k
        return out


class StraightforwardTrainer(GamoTrainer):
    """torch's default Adam (no fused kernel), and backward passes into every network."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        s = self.s
        make = lambda ps: torch.optim.Adam(list(ps), lr=s.lr, betas=s.betas, eps=s.eps)  # noqa: E731
        self.opt_m, self.opt_g = make(self.p.classifier.parameters()), make(self.p.generator.parameters())
        self.opt_d = make(self.p.discriminator.parameters())

    def _step(self, opt, loss, params, name, unused=()) -> None:
        for net in (self.p.classifier, self.p.generator, self.p.discriminator):
            net.zero_grad(set_to_none=True)
        loss.backward()
        for q in unused:
            q.grad = None
        opt.step()
        self.recent.setdefault(name, []).append(loss.detach())


def build(straightforward: bool, updates: str, steps: int, device: torch.device, seed: int = 0) -> GamoTrainer:
    torch.manual_seed(seed)
    y = torch.repeat_interleave(torch.arange(10), torch.tensor(COUNTS)).to(device)
    X = (torch.rand(len(y), 784, device=device) * 2 - 1)
    layout = ClassLayout(minority=tuple(range(1, 10)), majority=0, counts=COUNTS)
    gen_cls = StraightforwardGenerator if straightforward else ConvexGenerator
    players = Players(
        classifier=mlp((784,), 10, hidden=[256, 128], activation="leaky_relu", negative_slope=0.1, init="keras").to(device),
        generator=gen_cls(100, 10, COUNTS[1:]).to(device),
        discriminator=ConditionalDiscriminator(784, 10).to(device))
    schedule = GamoSchedule(steps=steps, generator_updates=updates)
    cls = StraightforwardTrainer if straightforward else GamoTrainer
    return cls(players, Objective("ls"), schedule, layout, X, y, seed)


def timed(make, steps: int, device: torch.device, warmup: int = 20) -> float:
    """Milliseconds per mini-batch of ``make(steps).run()``, after a ``make(warmup).run()`` warm-up."""
    make(warmup).run()
    trainer = make(steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    trainer.run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps * 1000


def time_one(straightforward: bool, updates: str, steps: int, device: torch.device, layout: str | None = None) -> float:
    """Milliseconds per mini-batch; ``layout`` forces the class points' layout of imbench's trainer
    (None: :func:`imbench.methods.gamo.nets.default_points_layout`, what a run uses)."""
    if layout is None:
        return timed(lambda n: build(straightforward, updates, n, device), steps, device)
    from imbench.methods.gamo import nets
    chosen = nets.default_points_layout
    nets.default_points_layout = lambda dev: layout
    try:
        return timed(lambda n: build(straightforward, updates, n, device), steps, device)
    finally:
        nets.default_points_layout = chosen


def convex_products_ms(device: torch.device, layout: str, steps: int = 50) -> float:
    """Milliseconds per mini-batch of the convex combinations' products alone: three forward passes
    (the generated batch for M and D, the two generator steps) and two weight gradients (the two
    generator steps), 32 samples over the nine minority classes' points (4,960 × 784). ``layout``
    ``plain`` is what autograd does for ``weights @ points``; ``imbench`` is the ``transposed`` layout of
    :class:`imbench.methods.gamo.nets.ClassPoints` (forward ``colsᵀ`` product, gradient ``rows @ gradᵀ``),
    which the trainer uses on every CPU but Intel's AVX-512 ones (``default_points_layout``)."""
    gen = torch.Generator(device="cpu").manual_seed(0)
    rows = [(torch.rand(n, 784, generator=gen) * 2 - 1).to(device) for n in COUNTS[1:]]
    cols = [r.t().contiguous() for r in rows]
    k = [4, 4, 4, 4, 4, 3, 3, 3, 3]
    weights = [torch.softmax(torch.randn(kk, len(r), generator=gen), 1).to(device) for kk, r in zip(k, rows)]
    grads = [torch.randn(kk, 784, generator=gen).to(device) for kk in k]

    def one_batch() -> None:
        for _ in range(3):
            for w, r, c in zip(weights, rows, cols):
                (w @ r) if layout == "plain" else (c @ w.t())
        for _ in range(2):
            for g, r in zip(grads, rows):
                (g @ r.t()) if layout == "plain" else (r @ g.t())

    return seconds_per_call(one_batch, steps, warmup=5, device=device) * 1000


def seconds_per_call(run, reps: int, warmup: int, device: torch.device) -> float:
    """Mean seconds of ``run()`` over ``reps`` calls after ``warmup`` calls (CUDA synchronised)."""
    for _ in range(warmup):
        run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / reps


def matmul_shapes(steps: int, device: torch.device) -> tuple[Counter, int]:
    """(m, k, n) of every matrix product of ``steps`` imbench mini-batches (paper's updates), with counts."""
    from torch.profiler import ProfilerActivity, profile

    build(False, "batch", 20, device).run()
    trainer = build(False, "batch", steps, device)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        trainer.run()
    shapes: Counter = Counter()
    for event in prof.key_averages(group_by_input_shape=True):
        operands = {"aten::mm": (0, 1), "aten::addmm": (1, 2)}.get(event.key)
        if operands:
            (m, k), (_, n) = (event.input_shapes[i] for i in operands)
            shapes[(m, k, n)] += event.count
    return shapes, steps


def matmul_floor_ms(shapes: Counter, steps: int, device: torch.device) -> float:
    """Milliseconds per mini-batch of ``shapes`` replayed (see the module's docstring)."""
    def fastest(m: int, k: int, n: int, reps: int) -> float:
        a, b, out = torch.randn(m, k, device=device), torch.randn(k, n, device=device), torch.empty(m, n, device=device)
        at, bt, out_t = a.t().contiguous(), b.t().contiguous(), torch.empty(n, m, device=device)
        layouts = (lambda: torch.mm(a, b, out=out), lambda: torch.mm(bt, at, out=out_t),
                   lambda: torch.mm(a, bt.t(), out=out), lambda: torch.mm(at.t(), b, out=out))
        return min(seconds_per_call(run, reps, warmup=3, device=device) for run in layouts)

    total = sum(fastest(m, k, n, max(count, 10)) * count for (m, k, n), count in shapes.items())
    return total / steps * 1000


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3, help="timings per variant (interleaved); the median is reported")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    a = ap.parse_args(argv)
    device = torch.device(a.device)
    variants = [(sf, up) for up in ("batch", "per_class") for sf in (True, False)]
    from imbench.methods.gamo.nets import LAYOUTS, default_points_layout
    chosen = default_points_layout(device)
    other = next(lay for lay in LAYOUTS if lay != chosen)
    times: dict[str, list[float]] = {}
    for _ in range(a.repeats):  # interleaved, so that machine noise hits every variant alike
        for sf, up in variants:
            times.setdefault(f"{'straightforward' if sf else 'imbench'}/{up}", []).append(time_one(sf, up, a.steps, device))
        for layout in ("plain", "imbench"):
            times.setdefault(f"convex_products/{layout}", []).append(convex_products_ms(device, layout))
        if device.type == "cpu":  # the whole mini-batch in the layout the hardware rule did not pick
            times.setdefault("imbench/batch/other_layout", []).append(time_one(False, "batch", a.steps, device, other))
    shapes, profiled = matmul_shapes(min(a.steps, 50), device)
    gflop = sum(2 * m * k * n * c for (m, k, n), c in shapes.items()) / profiled / 1e9
    for _ in range(a.repeats):
        times.setdefault("matmul_floor", []).append(matmul_floor_ms(shapes, profiled, device))
    median = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    print(f"GAMO dense MNIST mini-batch on {device} ({torch.get_num_threads()} threads), {a.steps} mini-batches, "
          f"median of {a.repeats}; ms per mini-batch")
    rows = []
    for up in ("batch", "per_class"):
        before, after = median[f"straightforward/{up}"], median[f"imbench/{up}"]
        rows.append({"generator_updates": up, "straightforward_ms": before, "imbench_ms": after,
                     "speedup": before / after})
        print(f"  generator_updates={up:9s}  straightforward {before:7.2f}  imbench {after:7.2f}  ×{before / after:.2f}")
    if "imbench/batch/other_layout" in median:
        print(f"  class points' layout: {chosen} (the hardware rule's, above) {median['imbench/batch']:.2f}, "
              f"{other} {median['imbench/batch/other_layout']:.2f}")
    print(f"  of which the convex combinations' products alone: plain layout {median['convex_products/plain']:.2f}, "
          f"imbench's {median['convex_products/imbench']:.2f}")
    products = sum(shapes.values()) / profiled
    print(f"  floor: the {products:.0f} matrix products of one imbench mini-batch ({gflop:.3f} GFLOP) replayed in their "
          f"fastest layouts into preallocated outputs: {median['matmul_floor']:.2f}")
    result = {"benchmark": "gamo_step", "device": str(device), "threads": torch.get_num_threads(), "steps": a.steps,
              "rows": rows, "convex_products_ms": {k.split("/")[1]: v for k, v in median.items()
                                                   if k.startswith("convex_products/")},
              "points_layout": {"chosen": chosen, "other": other,
                                "other_ms": median.get("imbench/batch/other_layout")},
              "matmul_floor": {"ms": median["matmul_floor"], "products_per_minibatch": products,
                               "gflop_per_minibatch": gflop},
              "all_ms": times}
    path = provenance.write_benchmark(result, "gamo_step", a.out, str(device), __file__, argv or sys.argv[1:])
    print(f"written {path}")
    return result


if __name__ == "__main__":
    main()
