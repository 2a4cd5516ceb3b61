import numpy as np
import pytest

from imbench.metrics import acsa, evaluate, geometric_mean, lift_percent, precision_at_recall


def onehot_proba(pred, n):
    p = np.full((len(pred), n), 0.01)
    p[np.arange(len(pred)), pred] = 0.98
    return p


def test_hand_computed_three_class_case():
    # truth:      0 0 0 0 1 1 2 2 2 2
    # prediction: 0 0 0 1 1 2 2 2 2 0
    y = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    pred = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 0])
    m = evaluate(y, onehot_proba(pred, 3), [0, 1, 2], minority=[1])
    # class 0: TP 3, FP 1, FN 1 -> P .75 R .75 ; class 1: TP 1 FP 1 FN 1 -> P .5 R .5
    # class 2: TP 3 FP 1 FN 1 -> P .75 R .75
    assert m["per_class"]["precision"] == pytest.approx([0.75, 0.5, 0.75])
    assert m["per_class"]["recall"] == pytest.approx([0.75, 0.5, 0.75])
    assert m["minority"]["f1"] == pytest.approx(0.5)
    assert m["majority"]["recall"] == pytest.approx(0.75)
    assert m["overall"]["precision"] == pytest.approx((0.75 + 0.5 + 0.75) / 3)
    assert m["acsa"] == pytest.approx(2 / 3)
    assert m["gm"] == pytest.approx((0.75 * 0.5 * 0.75) ** (1 / 3))
    assert m["accuracy"] == pytest.approx(0.7)


def test_group_f1_is_mean_of_per_class_f1_not_harmonic_of_means():
    y = np.array([0] * 10 + [1] * 10 + [2] * 10)
    pred = np.array([0] * 10 + [1] * 2 + [0] * 8 + [2] * 10)
    m = evaluate(y, onehot_proba(pred, 3), [0, 1, 2], minority=[1, 2])
    f1 = m["per_class"]["f1"]
    assert m["minority"]["f1"] == pytest.approx((f1[1] + f1[2]) / 2)


def test_gm_is_zero_when_a_class_is_never_recalled():
    assert geometric_mean([0.9, 0.0, 0.8]) == 0.0
    assert acsa([1.0, 0.5]) == 0.75


def test_binary_auc_pr_and_precision_at_recall():
    y = np.array([0, 0, 0, 0, 1, 1])
    score = np.array([0.1, 0.2, 0.7, 0.3, 0.8, 0.6])
    proba = np.stack([1 - score, score], axis=1)
    m = evaluate(y, proba, [0, 1], minority=[1])
    # ranking: .8(+) .7(-) .6(+) .3 .2 .1 -> AP = 0.5*(1/1) + 0.5*(2/3)
    assert m["auc_pr"] == pytest.approx(0.5 + 1 / 3)
    assert m["auc_roc"] == pytest.approx(7 / 8)
    assert precision_at_recall(y, score, 0.5) == pytest.approx(1.0)
    assert precision_at_recall(y, score, 1.0) == pytest.approx(2 / 3)
    assert m["ap_at"]["0.25"] == pytest.approx(1.0)


def test_lift():
    assert lift_percent(0.657, 0.654) == pytest.approx(0.4587, abs=1e-3)


def test_confident_probabilities_do_not_tie_at_one_so_auc_pr_keeps_their_order():
    """A float32 softmax rounds every row with a logit gap beyond ~17 to exactly 1.0; the tie then lowers
    AUC-PR (found on an EGL Potential split: 0.084 from tied probabilities, 0.115 from the logits)."""
    import torch
    from sklearn.metrics import average_precision_score
    from torch import nn

    from imbench.classifiers.train import predict_proba

    class Gap(nn.Module):  # logits (0, g): the positive class's probability is sigmoid(g)
        def forward(self, x):
            return torch.stack([torch.zeros_like(x[:, 0]), x[:, 0]], 1)

    gaps = torch.tensor([[30.0], [25.0], [20.0], [18.0], [2.0], [-1.0]])
    y = np.array([1, 0, 1, 0, 1, 0])  # the most confident row is positive, the second is not
    p = predict_proba(Gap(), gaps)[:, 1]
    assert len(np.unique(p)) == 6 and np.all(np.diff(p) < 0)
    assert average_precision_score(y, p) == pytest.approx(average_precision_score(y, gaps[:, 0].numpy()))
    tied = torch.softmax(Gap()(gaps).float(), dim=1)[:, 1].double().numpy()
    assert average_precision_score(y, tied) < average_precision_score(y, p)  # what float32 gave
