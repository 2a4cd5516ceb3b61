"""No change in results across the method-protocol refactor.

``tests/golden/metrics.json`` holds the metrics of one tiny real run per method (and per protocol path),
written by ``python scripts/golden_metrics.py write`` at commit 465680f, before the refactor, on the CPU
with one torch thread. The same runs now must give bit-identical metrics, and their run ids must map to
the old ones (:func:`imbench.config.legacy_identity`); records written before the refactor are resumed,
not redone. One deliberate change since: class probabilities come from a float64 softmax (a float32
softmax rounded confident rows to exactly 1.0 and tied them), which moves the ranking metrics (AUC-PR,
AUC-ROC) in their last digits; they are compared to 1e-6, everything decided by the argmax bit for bit.
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
SLOW = {"bagan"}  # ~2 min of BAGAN training on 2 cores
CASES = [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in golden_metrics.CASES]


@pytest.mark.parametrize("name", CASES)
def test_same_metrics_and_run_ids_as_before_the_refactor(name, mnist_root):
    got = golden_metrics.run_case(name, str(mnist_root))
    expected = {r["run_id"]: r for r in GOLDEN[name]["runs"]}
    assert sorted(r["legacy_id"] for r in got["runs"]) == sorted(expected)
    for run in got["runs"]:
        before = expected[run["legacy_id"]]
        assert_same_metrics(run["metrics"], before["metrics"])
        assert json.loads(json.dumps(run["counts"])) == before["counts"]


RANKING = ("auc_pr", "auc_roc")


def assert_same_metrics(got, before, path: str = "metrics") -> None:
    """Bit-identical, except the ranking metrics (to 1e-6: the float64 softmax, see the module docstring)."""
    got = json.loads(json.dumps(got))  # as the record stores them
    if isinstance(before, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(before), path
        for k in before:
            if k in RANKING:
                assert got[k] == pytest.approx(before[k], abs=1e-6, nan_ok=True), f"{path}.{k}"
            else:
                assert_same_metrics(got[k], before[k], f"{path}.{k}")
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
