"""No change in results across the method-protocol refactor.

``tests/golden/metrics.json`` holds the metrics of one tiny real run per method (and per protocol path),
written by ``python scripts/golden_metrics.py write`` at commit 465680f, before the refactor, on the CPU
with one torch thread. The same runs now must give bit-identical metrics, and their run ids must map to
the old ones (:func:`imbench.config.legacy_identity`); records written before the refactor are resumed,
not redone. One deliberate change since: class probabilities come from a float64 softmax (a float32
softmax rounded confident rows to exactly 1.0 and tied them), which moves the ranking metrics (AUC-PR,
AUC-ROC) in their last digits; they are compared to 1e-6, everything decided by the argmax bit for bit.

Bit-identity holds on the kind of CPU the file was written on (torch's kernel level ``AVX2``, an AMD EPYC).
Another CPU rounds differently (AVX-512 kernels, another vendor's math library: seen on an Intel Xeon with
AVX-512, even with ``ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2``), and a GAN trained for 3 mini-batches
turns that into other weights: accuracies moved by up to 0.003, one class's F1 by 0.04. There the run ids
and counts are still checked exactly, the summary metrics to ``OTHER_CPU_TOLERANCE`` and the per-class
ones to ``OTHER_CPU_PER_CLASS``.
"""
import json
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import golden_metrics  # noqa: E402

GOLDEN = json.loads(golden_metrics.GOLDEN.read_text())
WRITTEN_ON = "AVX2"  # torch.backends.cpu.get_cpu_capability() where tests/golden/metrics.json was written
OTHER_CPU_TOLERANCE = 0.03
OTHER_CPU_PER_CLASS = 0.1
SLOW = {"bagan"}  # ~2 min of BAGAN training on 2 cores
CASES = [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in golden_metrics.CASES]


@pytest.mark.parametrize("name", CASES)
def test_same_metrics_and_run_ids_as_before_the_refactor(name, mnist_root):
    got = golden_metrics.run_case(name, str(mnist_root))
    expected = {r["run_id"]: r for r in GOLDEN[name]["runs"]}
    assert sorted(r["legacy_id"] for r in got["runs"]) == sorted(expected)
    import torch

    tolerance = None if torch.backends.cpu.get_cpu_capability() == WRITTEN_ON else OTHER_CPU_TOLERANCE
    for run in got["runs"]:
        before = expected[run["legacy_id"]]
        assert_same_metrics(run["metrics"], before["metrics"], tolerance=tolerance)
        assert json.loads(json.dumps(run["counts"])) == before["counts"]


RANKING = ("auc_pr", "auc_roc")


def assert_same_metrics(got, before, path: str = "metrics", tolerance: float | None = None) -> None:
    """Bit-identical, except the ranking metrics (to 1e-6: the float64 softmax, see the module docstring);
    with ``tolerance`` (another CPU), every number to that."""
    got = json.loads(json.dumps(got))  # as the record stores them
    if isinstance(before, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(before), path
        for k in before:
            if k in RANKING and tolerance is None:
                assert got[k] == pytest.approx(before[k], abs=1e-6, nan_ok=True), f"{path}.{k}"
            else:
                inner = OTHER_CPU_PER_CLASS if tolerance is not None and k == "per_class" else tolerance
                assert_same_metrics(got[k], before[k], f"{path}.{k}", inner)
    elif isinstance(before, list):
        assert isinstance(got, list) and len(got) == len(before), path
        for i, (g, b) in enumerate(zip(got, before)):
            assert_same_metrics(g, b, f"{path}[{i}]", tolerance)
    elif tolerance is not None and isinstance(before, float):
        assert got == pytest.approx(before, abs=tolerance, nan_ok=True), path
    else:
        assert got == before, path


LEGACY_SMALL = ["data=mnist", "skew=step", "skew.minority=[8,9]", "skew.n_max=60", "ir=6", "profile=quick",
                "profile.max_epochs=1", "progress=false", "device=cpu"]


@pytest.mark.parametrize("overrides,resumed", [
    (["method=smote", "folds=2"], 2),
    (["method=cvae", "folds=1", "profile.max_generator_batches=3"], 1),
])
def test_records_written_before_the_refactor_are_resumed(overrides, resumed, mnist_root, tmp_path):
    from imbench.runner import run_job

    out = tmp_path / "out"
    shutil.copytree(REPO / "tests" / "golden" / "legacy_out", out)
    old_ids = {p.name for p in out.iterdir()}
    cfg = golden_metrics.compose([*LEGACY_SMALL, *overrides, f"data.root={mnist_root}"], str(out))
    messages = []
    summary = run_job(cfg, log=messages.append)
    assert (summary.new, summary.resumed) == (0, resumed)
    adopted = [p for p in out.iterdir() if (p / "adopted_from").exists()]
    assert len(adopted) == resumed and all(p.name not in old_ids for p in adopted)
    assert {(p / "adopted_from").read_text().strip() for p in adopted} <= old_ids
    assert len(messages) == resumed and "moved to its new id" in messages[0]
    again = run_job(cfg, log=messages.append)  # the move happens once
    assert (again.new, again.resumed, len(messages)) == (0, resumed, resumed)
