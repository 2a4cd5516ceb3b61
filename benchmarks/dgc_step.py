"""DGC's cost: seconds per main mini-batch (with the data perturbation and the LVO step) and per predicted
image, at the released widths and at narrower ones, and the schedule extrapolated from them.

    python benchmarks/dgc_step.py [--batches 2] [--predict 20] [--device cpu|cuda] [--out DIR]

Trains :class:`imbench.methods.dgc.Dgc` on random 28×28 images with GAMO's MNIST class counts (9,000
images; the perturbation grows a mini-batch of 100 to about 230 rows) for ``--batches`` main mini-batches
after one warm-up batch, then scores ``--predict`` images (10 classes × ``mc_samples`` draws each).
Extrapolates: 2 warm-up + 50 main epochs of 90 mini-batches, and the 10,000 official test images.
Writes ``benchmarks/results/dgc_step-<host>-<date>.json`` (or into ``--out``).
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
from imbench.methods.dgc import Dgc  # noqa: E402
from imbench.methods.protocol import ClassifierFactory, FoldTask, JobContext, Split  # noqa: E402

GAMO_COUNTS = (4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40)
WIDTHS = {"released": ((128, 256, 512, 1024), (1024, 512, 256)), "quarter": ((32, 64, 128, 256), (256, 128, 64))}
BATCHES_PER_EPOCH = sum(GAMO_COUNTS) // 100
TEST_IMAGES = 10_000


def measure(name: str, batches: int, n_predict: int, device: str) -> dict:
    width, decoder = WIDTHS[name]
    rng = np.random.default_rng(0)
    y = np.concatenate([np.full(n, c) for c, n in enumerate(GAMO_COUNTS)])
    X = rng.random((len(y), 1, 28, 28), dtype=np.float32)
    ctx = JobContext(classes=list(range(10)), device=torch.device(device),
                     classifiers=ClassifierFactory({"_target_": "unused"}), progress=False)

    def fit(main_batches: int) -> dict:
        task = FoldTask(fold=0, train=Split(X, y), val=None, minority=list(range(1, 10)),
                        counts=dict(enumerate(GAMO_COUNTS)), method_seed=0, repeats={0: 1})
        method = Dgc(width=width, decoder_width=decoder, epochs=1, warmup_epochs=0, pretrain_steps=1,
                     max_batches_per_epoch=main_batches)
        start = time.perf_counter()
        fitted = method.fit_fold(task, ctx)
        return {"seconds": time.perf_counter() - start, "predictor": fitted.runs[0].predictor}

    base = fit(1)            # one pre-training step and one main batch
    more = fit(1 + batches)  # ... and `batches` more main batches
    per_batch = (more["seconds"] - base["seconds"]) / batches
    start = time.perf_counter()
    more["predictor"].predict_proba(X[:n_predict])
    per_image = (time.perf_counter() - start) / n_predict
    schedule_h = per_batch * 52 * BATCHES_PER_EPOCH / 3600  # the 2 warm-up epochs counted as main ones (upper bound)
    return {"width": list(width), "decoder_width": list(decoder), "s_per_main_batch": round(per_batch, 2),
            "s_per_predicted_image": round(per_image, 3), "paper_schedule_train_hours": round(schedule_h, 1),
            "test_set_predict_hours": round(per_image * TEST_IMAGES / 3600, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=2)
    ap.add_argument("--predict", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--widths", default="quarter,released")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    a = ap.parse_args(argv)
    import os

    # other processes on the machine inflate every figure: the load is kept with them
    result = {"torch_threads": torch.get_num_threads(), "load_average_start": list(os.getloadavg()), "widths": {}}
    for name in a.widths.split(","):
        r = measure(name, a.batches, a.predict, a.device)
        result["widths"][name] = r
        print(f"DGC {name:9s} {r['s_per_main_batch']:7.2f} s/main batch ({r['paper_schedule_train_hours']} h for "
              f"52 epochs x {BATCHES_PER_EPOCH} batches), {r['s_per_predicted_image']:.3f} s/test image "
              f"({r['test_set_predict_hours']} h for {TEST_IMAGES})", flush=True)
    result["load_average_end"] = list(os.getloadavg())
    path = provenance.write_benchmark(result, "dgc_step", a.out, a.device, __file__,
                                      sys.argv[1:] if argv is None else argv)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
