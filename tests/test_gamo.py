"""GAMO and its ablations: the convex generator, the CE and LS objectives, the trainer, the method through
the runner on real MNIST, and bad input."""
import json
import math

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from imbench.errors import ConfigError
from imbench.methods.gamo import Gamo
from imbench.methods.gamo.nets import ClassBatch, ConvexGenerator
from imbench.methods.gamo.objective import Objective
from imbench.methods.protocol import ClassifierFactory, FoldTask, JobContext, Split
from imbench.methods.registry import build_method, load_method_config
from test_runner import REPO, SMALL, cli


def compose_plain(overrides):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return OmegaConf.to_container(compose(config_name="config", overrides=overrides), resolve=True)


def small_task(counts=(60, 30, 20, 12, 8), seed=0, image=True):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    X = rng.random((len(y), 1, 8, 8) if image else (len(y), 6)).astype(np.float32)
    return FoldTask(0, Split(X, y), None, list(range(1, len(counts))), {c: int(n) for c, n in enumerate(counts)}, 1,
                    {0: 11})


def context(n_classes=5):
    return JobContext(list(range(n_classes)), torch.device("cpu"), ClassifierFactory({}), progress=False)


def method(name="gamo", **changes):
    cfg = load_method_config(name)
    cfg.update(changes)
    return build_method(cfg)


# -- the convex generator ----------------------------------------------------------------------------
def test_convex_generator_samples_are_convex_combinations_of_their_own_class():
    torch.manual_seed(0)
    sizes = [5, 3, 7]
    G = ConvexGenerator(latent_dim=4, n_classes=4, class_sizes=sizes).eval()
    points = [torch.randn(n, 6) for n in sizes]
    batch = ClassBatch(torch.tensor([1, 1, 3, 3, 3]), (2, 0, 3))  # slots: classes 1, 2, 3
    z = torch.randn(5, 4)
    weights = G.weights(z, batch)
    assert [tuple(w.shape) for w in weights] == [(2, 5), (0, 3), (3, 7)]
    for w in weights:
        assert torch.all(w >= 0) and torch.allclose(w.sum(1), torch.ones(len(w)))
    out = G(z, batch, points)
    assert torch.allclose(out[:2], weights[0] @ points[0]) and torch.allclose(out[2:], weights[2] @ points[2])


def test_grouped_igus_equal_one_igu_per_class_and_absent_classes_get_no_gradient():
    torch.manual_seed(1)
    G = ConvexGenerator(latent_dim=3, n_classes=3, class_sizes=[4, 6]).train()
    points = [torch.randn(4, 5), torch.randn(6, 5)]
    z = torch.randn(3, 3)
    batch = ClassBatch(torch.tensor([1, 1, 2]), (2, 1))
    h = G.tmu(z, batch.labels)  # the same BN batch statistics as inside G
    by_hand = torch.cat([torch.softmax(G.igus[0](h[:2]), 1) @ points[0], torch.softmax(G.igus[1](h[2:]), 1) @ points[1]])
    assert torch.allclose(G(z, batch, points), by_hand, atol=1e-6)
    only_first = ClassBatch(torch.tensor([1, 1]), (2, 0))
    assert G.unused_slot_parameters(only_first) == list(G.igus[1].parameters())


# -- the objectives, by hand -------------------------------------------------------------------------
LOGITS = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 1.0]])
LABELS = torch.tensor([0, 2])


def _softmax(a):
    e = np.exp(a - a.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_ls_losses_by_hand():
    p = _softmax(LOGITS.numpy().astype(np.float64))
    onehot = np.eye(3)[[0, 2]]
    obj = Objective("ls")
    assert obj.classifier(LOGITS, LABELS).item() == pytest.approx(((onehot - p) ** 2).mean(), rel=1e-6)
    comp = 1 - onehot
    # majority = class 1: Eq. 6 leaves its output out, the code keeps it
    assert obj.generator_vs_classifier(LOGITS, LABELS, 1, include_majority=False).item() == pytest.approx(
        ((comp - p)[:, [0, 2]] ** 2).mean(), rel=1e-6)
    assert obj.generator_vs_classifier(LOGITS, LABELS, 1, include_majority=True).item() == pytest.approx(
        ((comp - p) ** 2).mean(), rel=1e-6)
    d = torch.tensor([0.0, 2.0])
    s = 1 / (1 + np.exp(-d.numpy()))
    assert obj.discriminator(d, 1.0).item() == pytest.approx(((1 - s) ** 2).mean(), rel=1e-6)
    assert obj.discriminator(d, 0.0).item() == pytest.approx((s ** 2).mean(), rel=1e-6)
    assert obj.generator_vs_discriminator(d).item() == pytest.approx(((1 - s) ** 2).mean(), rel=1e-6)


def test_ce_losses_by_hand():
    p = _softmax(LOGITS.numpy().astype(np.float64))
    onehot = np.eye(3)[[0, 2]]
    obj = Objective("ce")
    eq3 = -(onehot * np.log(p) + (1 - onehot) * np.log(1 - p)).mean()
    assert obj.classifier(LOGITS, LABELS).item() == pytest.approx(eq3, rel=1e-5)
    cat = -np.log(p[[0, 1], [0, 2]]).mean()
    assert Objective("ce", "categorical").classifier(LOGITS, LABELS).item() == pytest.approx(cat, rel=1e-5)
    comp = 1 - onehot
    bce = -(comp * np.log(p) + (1 - comp) * np.log(1 - p))
    assert obj.generator_vs_classifier(LOGITS, LABELS, 1, False).item() == pytest.approx(bce[:, [0, 2]].mean(), rel=1e-5)
    d = torch.tensor([0.0, 2.0])
    s = 1 / (1 + np.exp(-d.numpy()))
    assert obj.discriminator(d, 1.0).item() == pytest.approx(-np.log(s).mean(), rel=1e-5)
    assert obj.discriminator(d, 0.0).item() == pytest.approx(-np.log(1 - s).mean(), rel=1e-5)


def test_an_unknown_loss_is_a_config_error():
    with pytest.raises(ConfigError, match="'ce'.*'ls'"):
        method(loss="hinge")
    with pytest.raises(ConfigError, match="form"):
        method(form="sparse")


# -- the method, in memory ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gamo", "gamo_d", "cg_cn", "cg_d_cn"])
@pytest.mark.parametrize("form", ["dense", "conv"])
def test_every_variant_trains_and_predicts_every_class(name, form):
    task = small_task()
    fit = method(name, form=form, steps=6, v_steps=3, f_steps=2).fit_fold(task, context())
    run = fit.runs[0]
    proba = run.predictor.predict_proba(task.train.X)
    assert proba.shape == (len(task.train.y), 5) and np.allclose(proba.sum(1), 1.0)
    assert run.training["steps"] == 6
    assert ("g_vs_d" in run.training["final_losses"]) == (name in ("gamo", "cg_d_cn"))
    if form == "conv":
        assert run.training["outer_iterations"] == 2 and run.training["f_steps"] == 4 and fit.synthetic is None
    info = fit.info["gamo"]
    assert info["minority_classes"] == [1, 2, 3, 4] and info["majority_class"] == 0 and info["code_choices"] == []


def test_dense_samples_balance_the_classes_inside_each_class_hull():
    task = small_task()
    fit = method("gamo", form="dense", steps=5).fit_fold(task, context())
    s = fit.synthetic
    assert s.count == sum(60 - n for n in (30, 20, 12, 8))
    assert np.bincount(s.y) .tolist() == [60] * 5
    for c in range(1, 5):
        real, fake = task.train.X[task.train.y == c], s.X[s.mask & (s.y == c)]
        # a convex combination lies inside the per-pixel range of its class's points
        assert np.all(fake >= real.min(0) - 1e-5) and np.all(fake <= real.max(0) + 1e-5)


def test_the_code_choices_are_recorded_and_run():
    task = small_task()
    m = method("gamo", form="dense", steps=4, include_majority=True, soft_labels=True, generator_updates="per_class",
               batch_order="fixed")
    fit = m.fit_fold(task, context())
    assert fit.info["gamo"]["code_choices"] == ["batch_order", "generator_updates", "include_majority", "soft_labels"]
    assert np.isfinite(fit.runs[0].training["final_losses"]["g_vs_m"])


def test_same_seed_same_result_and_global_rng_untouched():
    task = small_task()
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = method("gamo", form="dense", steps=5).fit_fold(task, context()).runs[0].predictor.predict_proba(task.train.X)
    after = torch.rand(1)
    b = method("gamo", form="dense", steps=5).fit_fold(task, context()).runs[0].predictor.predict_proba(task.train.X)
    assert np.array_equal(a, b) and torch.equal(before, after)


@pytest.mark.parametrize("counts, match", [((60, 30, 1), "single training sample"), ((60, 30, 0), "no training samples"),
                                           ((20, 20, 20), "no minority class")])
def test_data_gamo_cannot_use_is_a_clear_error(counts, match):
    task = small_task(counts)
    with pytest.raises(ConfigError, match=match):
        method("gamo", form="dense", steps=2).fit_fold(task, context(3))


def test_conv_form_on_tabular_data_is_a_clear_error():
    with pytest.raises(ConfigError, match="form=dense"):
        method("gamo", form="conv", steps=2).fit_fold(small_task(image=False), context())


def test_the_gamo_networks_are_the_classifier_configs():
    """GAMO's CN and the Baseline CN of Table 1 (classifier=gamo_cn / gamo_conv_cn) are one architecture."""
    nets = load_method_config("gamo")["networks"]
    for form, clf in (("dense", "gamo_cn"), ("conv", "gamo_conv_cn")):
        arch = OmegaConf.to_container(OmegaConf.load(REPO / "conf" / "classifier" / f"{clf}.yaml"))["arch"]
        assert nets[form] == arch
        assert Gamo.own_classifier({"form": form, "loss": "ce"})["name"] == clf


# -- through the runner, on real MNIST -------------------------------------------------------------
def test_gamo_through_the_runner_on_real_mnist(mnist_root, tmp_path):
    from imbench.runner import run_job

    cfg = compose_plain([f"data.root={mnist_root}", f"out_dir={tmp_path}", "method=gamo", "method.form=dense",
                         "method.steps=30", "method.loss=ce", *SMALL])
    summary = run_job(cfg, log=lambda *a: None)
    assert summary.new == 2
    rec = json.loads((tmp_path / summary.paths[0].split("/")[-2] / "result.json").read_text())
    assert rec["job"]["classifier"] == "gamo_cn" and rec["job"]["loss"] == "ce"
    assert rec["method"] == {"kind": "end_to_end", "label": "GAMO", "reference": Gamo.reference}
    assert rec["gamo"]["steps"] == 30 and rec["training"]["steps"] == 30
    assert rec["counts"]["synthetic"] == 2 * 90 and len(rec["metrics"]["per_class"]["recall"]) == 10
    assert (tmp_path / rec["run_id"] / "synthetic_preview.npz").is_file()
    # the configured classifier plays no part: another one resumes the same runs
    cfg["classifier"] = compose_plain(["classifier=cnn"])["classifier"]
    assert run_job(cfg, log=lambda *a: None).resumed == 2


def test_bad_gamo_input_on_the_command_line_fails_before_training(mnist_root, tmp_path):
    out = cli(f"data.root={mnist_root}", f"out_dir={tmp_path}", "method=gamo", "method.loss=hinge", *SMALL)
    assert out.returncode != 0 and "'ce' (Eq. 3) or 'ls'" in out.stderr and "Traceback" not in out.stderr
    out = cli(f"data.root={mnist_root}", f"out_dir={tmp_path}", "method=gamo", "skew.n_max=30", "ir=30",
              "method.steps=3", *[a for a in SMALL if not a.startswith(("skew.n_max", "ir="))])
    assert out.returncode != 0 and "single training sample" in out.stderr and "Traceback" not in out.stderr
    assert not list(tmp_path.glob("*/done"))


# -- Table 2's path (CIFAR-10, SVHN) on generated files in the datasets' own formats ------------------
def _cifar_files(root, per_class_train=10, per_class_test=5):
    import pickle

    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = np.tile(np.arange(10), per_class_train)
    for i, part in enumerate(np.array_split(np.arange(len(labels)), 5), start=1):
        data = rng.integers(0, 256, size=(len(part), 3072), dtype=np.uint8)
        with open(folder / f"data_batch_{i}", "wb") as fh:
            pickle.dump({b"batch_label": b"b", b"data": data, b"labels": labels[part].tolist()}, fh, protocol=2)
    test = np.tile(np.arange(10), per_class_test)
    with open(folder / "test_batch", "wb") as fh:
        pickle.dump({b"batch_label": b"t", b"data": rng.integers(0, 256, size=(len(test), 3072), dtype=np.uint8),
                     b"labels": test.tolist()}, fh, protocol=2)


def _svhn_files(root, per_class_train=10, per_class_test=5):
    from scipy.io import savemat

    rng = np.random.default_rng(1)
    for split, n in (("train", per_class_train), ("test", per_class_test)):
        y = np.tile(np.arange(10), n)
        y[y == 0] = 10  # SVHN's .mat files write the digit 0 as 10
        X = rng.integers(0, 256, size=(32, 32, 3, len(y)), dtype=np.uint8)
        savemat(root / f"{split}_32x32.mat", {"X": X, "y": y.reshape(-1, 1).astype(np.uint8)})


def test_table_2_path_runs_end_to_end_on_generated_cifar_and_svhn_files(tmp_path):
    import subprocess
    import sys

    from imbench.runner import run_job

    root, out, res = tmp_path / "data", tmp_path / "out", tmp_path / "results"
    root.mkdir()
    _cifar_files(root)
    _svhn_files(root)
    base = [f"data.root={root}", "+data.verify=false", f"out_dir={out}", "experiment=gamo_2", "folds=1",
            "skew.counts=[9,8,7,6,5,5,4,4,3,3]", "ir=3", "protocol.test_per_class=5", "profile=quick", "profile.max_steps=3",
            "progress=false"]
    for data in ("cifar10", "svhn"):
        for extra in (["method=none"], ["method=gamo", "method.f_steps=2", "method.v_steps=2"]):
            summary = run_job(compose_plain([*base, f"data={data}", *extra]), log=lambda *a: None)
            rec = summary.records[0]
            assert rec["job"]["data"] == data and sum(rec["counts"]["test"].values()) == 50
            assert "NOT checked" in rec["data_provenance"]
    # the cDCGAN+CN row: Fajardo's CGAN networks at 3×32×32, two mini-batches, then the Baseline CN
    cdcgan = ["method=cdcgan_cn", "method.sampler.epochs=1", "method.sampler.batch_size=16",
              "method.sampler.max_batches_per_epoch=2"]
    rec = run_job(compose_plain([*base, "data=cifar10", *cdcgan]), log=lambda *a: None).records[0]
    assert rec["job"]["method"] == "cdcgan_cn" and rec["counts"]["synthetic"] == 9 * 10 - 54
    assert rec["method"]["kind"] == "resample" and 0 <= rec["metrics"]["acsa"] <= 1
    r = subprocess.run([sys.executable, "-m", "imbench.tables", "gamo_2", "--profile", "quick", "--out-dir", str(out),
                        "--results-dir", str(res)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    import pandas as pd

    cells = pd.read_csv(res / "gamo_2_quick.csv").set_index("method")
    for m in ("none", "gamo"):
        for data in ("cifar10", "svhn"):
            assert cells.loc[m, f"{data}_ls_n"] == 1 and 0 <= cells.loc[m, f"{data}_ls_acsa_mean"] <= 1
    assert cells.loc["cdcgan_cn", "cifar10_ls_n"] == 1 and cells.loc["cdcgan_cn", "svhn_ls_n"] == 0


def test_table_2_without_the_files_names_the_fetch_command(tmp_path):
    out = cli(f"data.root={tmp_path}", f"out_dir={tmp_path / 'out'}", "experiment=gamo_2", "data=svhn", "method=gamo",
              "profile=quick")
    assert out.returncode != 0 and "python -m imbench.data fetch svhn" in out.stderr and "Traceback" not in out.stderr


# -- the cGAN+CN row's MLP conditional GAN ------------------------------------------------------------
def test_mlp_cgan_learns_where_each_class_lies():
    from imbench.methods.mlp_cgan import MLPCGANSampler

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], [200, 20])
    centre = np.where(y[:, None] == 0, 0.25, 0.75)
    X = np.clip(centre + rng.normal(0, 0.05, size=(len(y), 4)), 0, 1).astype(np.float32)
    torch.set_num_threads(1)
    sampler = MLPCGANSampler(steps=600, batch_size=32, device="cpu", random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [200, 200] and np.array_equal(X_res[:len(X)], X)
    info = sampler.fit_info()  # what the run's record keeps
    assert info["steps"] == 600 and info["synthesised"] == {"1": 180} and info["final_losses"]["step"] == 600
    assert info["fake_label_share"] == pytest.approx({"0": 200 / 220, "1": 20 / 220})
    new = X_res[len(X):]
    assert new.min() >= 0 and new.max() <= 1
    assert abs(new.mean() - 0.75) < abs(new.mean() - 0.25)  # class 1's samples sit near class 1


def test_mlp_cgan_uniform_fake_labels_train_the_rare_conditional_as_often(monkeypatch):
    from imbench.methods import mlp_cgan

    seen = []
    original = mlp_cgan.ConditionalDiscriminator.forward

    def spy(self, x, labels):
        seen.append(labels.detach().clone())
        return original(self, x, labels)

    monkeypatch.setattr(mlp_cgan.ConditionalDiscriminator, "forward", spy)
    y = np.repeat([0, 1], [200, 20])
    X = np.random.default_rng(0).uniform(0, 1, (len(y), 4)).astype(np.float32)
    shares = {}
    for mode in ("data", "uniform"):
        seen.clear()
        sampler = mlp_cgan.MLPCGANSampler(steps=200, batch_size=32, device="cpu", random_state=0, fake_labels=mode)
        sampler.fit_resample(X, y)
        fake = torch.cat(seen[1::3])  # per step: D(real), D(fake) for D's update, D(fake) for G's update
        shares[mode] = float((fake == 1).float().mean())
        assert sampler.fit_info()["fake_labels"] == mode
    assert shares["data"] == pytest.approx(20 / 220, abs=0.03) and shares["uniform"] == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="fake_labels"):
        mlp_cgan.MLPCGANSampler(fake_labels="balanced").fit_resample(X, y)


CONTENDERS = {  # Table 1's rows other than the Baseline CN and SMOTE+CN, each a few mini-batches
    "gamo": ["method.form=dense", "method.steps=5"], "gamo_d": ["method.steps=5", "method.f_steps=2"],
    "cg_cn": ["method.form=dense", "method.steps=5"], "cg_d_cn": ["method.steps=5", "method.f_steps=2"],
    "cgan_cn": ["method.sampler.steps=5"], "cdcgan_cn": ["method.sampler.max_batches_per_epoch=2",
                                                         "method.sampler.epochs=1"],
    "augment": ["method.sampler.hflip=false"],
    "dos": ["method.steps=5", "method.pretrain_steps=1"],
}


@pytest.mark.parametrize("name", sorted(CONTENDERS))
def test_each_contender_trains_on_real_mnist_and_scores_every_class(name, mnist_root, tmp_path):
    from imbench.runner import run_job

    cfg = compose_plain([f"data.root={mnist_root}", f"out_dir={tmp_path}", f"method={name}", "classifier=gamo_cn",
                         "classifier.schedule.steps=5", *CONTENDERS[name], *SMALL, "folds=1"])
    rec = run_job(cfg, log=lambda *a: None).records[0]
    assert rec["job"]["method"] == name and len(rec["metrics"]["per_class"]["recall"]) == 10
    assert sum(rec["metrics"]["per_class"]["support"]) == 10000 and 0 <= rec["metrics"]["acsa"] <= 1
    if rec["method"]["kind"] == "resample":
        assert rec["counts"]["synthetic"] == 180  # classes 8 and 9 topped up from 10 to 100


def test_class_points_product_and_its_gradients_equal_the_plain_product():
    from torch.autograd import gradcheck
    from imbench.methods.gamo.nets import ClassPoints, _ConvexCombination, convex_combination
    torch.manual_seed(0)
    rows = [torch.randn(40, 6), torch.randn(25, 6)]
    points = ClassPoints(rows, layout="transposed")
    assert torch.equal(points.cols[1], rows[1].t()) and points.cols[1].is_contiguous() and points[0] is not None
    w = torch.softmax(torch.randn(3, 25), 1).requires_grad_()
    g = torch.randn(3, 6)
    ours = convex_combination(w, points, 1)
    ours.backward(g)
    grad_ours, w.grad = w.grad.clone(), None
    plain = w @ rows[1]
    plain.backward(g)
    assert torch.allclose(ours, plain, atol=1e-6) and torch.allclose(grad_ours, w.grad, atol=1e-6)
    wd = torch.softmax(torch.randn(3, 25, dtype=torch.float64), 1).requires_grad_()
    pd = torch.randn(25, 6, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda a, b: _ConvexCombination.apply(a, b, b.detach().t().contiguous()), (wd, pd))


def test_the_points_layout_follows_the_hardware_and_both_give_the_plain_product(monkeypatch):
    from imbench.methods.gamo import nets
    from imbench.methods.gamo.nets import ClassPoints, convex_combination, default_points_layout
    cases = (("GenuineIntel", "AVX2", "transposed"), ("GenuineIntel", "AVX512", "plain"),
             ("AuthenticAMD", "AVX2", "transposed"), ("AuthenticAMD", "AVX512", "transposed"),
             ("", "AVX512", "plain"), ("AuthenticAMD", "DEFAULT", "plain"))
    for vendor, capability, layout in cases:
        monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda c=capability: c)
        monkeypatch.setattr(nets, "cpu_vendor", lambda v=vendor: v)
        assert default_points_layout("cpu") == layout and ClassPoints([torch.randn(5, 3)]).layout == layout
    assert default_points_layout("meta") == "plain"
    torch.manual_seed(0)
    rows = [torch.randn(25, 6)]
    w = torch.softmax(torch.randn(3, 25), 1)
    outs = [convex_combination(w, ClassPoints(rows, layout=lay), 0) for lay in ("transposed", "plain")]
    assert torch.allclose(outs[0], outs[1], atol=1e-6) and ClassPoints(rows, layout="plain").cols is None
    with pytest.raises(ValueError, match="layout"):
        ClassPoints(rows, layout="diagonal")


def test_class_points_product_under_bf16_autocast_backpropagates_outside_it():
    from imbench.methods.gamo.nets import ClassPoints, convex_combination
    torch.manual_seed(0)
    points = ClassPoints([torch.randn(30, 8)], layout="transposed")
    w = torch.softmax(torch.randn(4, 30), 1).requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = convex_combination(w, points, 0)
    assert out.is_contiguous() and out.view(-1).numel() == 32  # a single slot's output is G's whole batch
    out.float().sum().backward()  # outside the autocast region, as a caller may do
    assert w.grad.dtype == torch.float32
    assert torch.allclose(w.grad, points.rows[0].sum(1).expand(4, 30), atol=0.1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_adam_equals_torch_fused_adam_bit_for_bit_with_skipped_parameters(dtype):
    from imbench.methods.gamo.adam import FusedAdam, fused_kernel_available

    if not fused_kernel_available(torch.device("cpu"), dtype):
        pytest.skip("this torch has no fused Adam kernel for the CPU")
    gen = torch.Generator().manual_seed(0)
    ours = [torch.randn(6, 4, generator=gen, dtype=dtype), torch.randn(5, generator=gen, dtype=dtype)]
    theirs = [t.clone() for t in ours]
    for t in ours + theirs:
        t.requires_grad_(True)
    opt = FusedAdam(ours, lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
    ref = torch.optim.Adam(theirs, lr=2e-4, betas=(0.5, 0.999), eps=1e-7, fused=True)
    for step in range(12):
        grads = [torch.randn(t.shape, generator=gen, dtype=dtype) for t in ours]
        for a, b, g in zip(ours, theirs, grads):
            a.grad, b.grad = g.clone(), g.clone()
        if step % 3 == 0:  # an IGU without samples: no gradient, no step, its step count stays
            ours[1].grad = theirs[1].grad = None
        opt.step()
        ref.step()
        opt.zero_grad()
        ref.zero_grad()
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)
    assert [float(s) for s in opt.steps] == [12.0, 8.0]


def test_make_adam_falls_back_to_torch_adam_without_a_fused_kernel(monkeypatch):
    from imbench.methods.gamo import adam

    p = [torch.nn.Parameter(torch.zeros(3))]
    monkeypatch.setattr(adam, "fused_kernel_available", lambda device, dtype: False)
    assert isinstance(adam.make_adam(p, 1e-3, (0.9, 0.999), 1e-8), torch.optim.Adam)
    monkeypatch.undo()
    if adam.fused_kernel_available(torch.device("cpu"), torch.float32):
        assert isinstance(adam.make_adam(p, 1e-3, (0.9, 0.999), 1e-8), adam.FusedAdam)
