"""GAMO's batched group training (imbench.methods.gamo.group): each member is the training that fold-by-fold
fitting gives with its seed, up to float rounding; IGUs without samples skip their step per member; a
diverging member fails alone."""
import numpy as np
import pytest
import torch

from imbench.errors import TrainingError
from imbench.methods.gamo.group import GroupGenerator, MemberAdam, group_batch
from imbench.methods.gamo.nets import ClassBatch, ConvexGenerator
from imbench.methods.protocol import BatchPolicy, ClassifierFactory, FoldTask, JobContext, Split
from test_gamo import method, small_task


def context(batching="true", n_classes=5):
    return JobContext(list(range(n_classes)), torch.device("cpu"), ClassifierFactory({}),
                      batching=BatchPolicy(batching), progress=False, log=lambda *a, **k: None)


def two_folds(image: bool, repeats=(0, 1)):
    """Two skewed draws with equal class counts (GAMO's fixed counts), two repeats each; the second's rows
    shuffled, so that each member's class points sit at other positions."""
    tasks = []
    for fold in range(2):
        t = small_task(seed=fold, image=image)
        order = np.random.default_rng(fold).permutation(len(t.train.y)) if fold else np.arange(len(t.train.y))
        tasks.append(FoldTask(fold, Split(t.train.X[order], t.train.y[order]), None, t.minority, t.counts, 1,
                              {r: 100 + 10 * fold + r for r in repeats}))
    return tasks


def test_member_adam_equals_torch_adam_with_skipped_steps():
    torch.manual_seed(0)
    start = torch.randn(2, 3, 4)
    grads = torch.randn(6, 2, 3, 4)
    active = torch.tensor([[1, 0], [1, 0], [0, 0], [1, 1], [0, 1], [1, 1]], dtype=torch.bool)
    stacked = start.clone().requires_grad_()
    opt = MemberAdam([stacked], lr=0.01, betas=(0.5, 0.999), eps=1e-7)
    singles = [start[i].clone().requires_grad_() for i in range(2)]
    ref = [torch.optim.Adam([p], lr=0.01, betas=(0.5, 0.999), eps=1e-7) for p in singles]
    for g, a in zip(grads, active):
        opt.zero_grad()
        stacked.grad = g.clone()
        opt.step([a])
        for i in range(2):
            ref[i].zero_grad(set_to_none=True)
            singles[i].grad = g[i].clone() if a[i] else None  # torch's Adam skips a parameter without gradient
            ref[i].step()
    for i in range(2):
        assert torch.allclose(stacked[i], singles[i], rtol=1e-6, atol=1e-7)
    assert not torch.equal(stacked[0], stacked[1])


def test_group_batch_places_every_sample_where_its_member_has_it():
    counts = np.array([[3, 0, 2], [1, 2, 2], [0, 0, 5]])
    gb = group_batch(counts, minority=[1, 2, 3], device=torch.device("cpu"))
    assert gb.labels.tolist() == [[1, 1, 1, 3, 3], [1, 2, 2, 3, 3], [3, 3, 3, 3, 3]]
    assert gb.active.tolist() == [[True, False, True], [True, True, True], [False, False, True]]
    assert [None if r is None else tuple(r.shape) for r in gb.rows] == [(3, 3), (3, 2), (3, 5)]


def test_group_generator_equals_each_members_convex_generator():
    torch.manual_seed(0)
    sizes = [7, 5, 4]
    gens = [ConvexGenerator(6, 4, sizes, hidden=(16, 8)) for _ in range(3)]
    points = [[torch.randn(n, 10) for n in sizes] for _ in range(3)]
    counts = np.array([[3, 0, 2], [1, 2, 2], [0, 0, 5]])
    z = torch.randn(3, 5, 6)
    group = GroupGenerator(gens)
    gb = group_batch(counts, minority=[1, 2, 3], device=torch.device("cpu"))
    stacked_points = [torch.stack([points[m][k] for m in range(3)]) for k in range(3)]
    out = group(z, gb, stacked_points)
    loss = (out ** 2).sum()
    loss.backward()
    for m, g in enumerate(gens):
        batch = ClassBatch(gb.labels[m], tuple(int(c) for c in counts[m]))
        ref = g(z[m], batch, points[m])
        assert torch.allclose(out[m], ref, atol=1e-6)
        (ref ** 2).sum().backward()
        for k, igu in enumerate(g.igus):
            stacked_grad = group.igus[k].params["weight"].grad[m]
            if counts[m, k] == 0:
                assert igu.weight.grad is None and torch.count_nonzero(stacked_grad) == 0
            else:
                assert torch.allclose(stacked_grad, igu.weight.grad, atol=1e-5)


def _probas(fits, tasks):
    return {(t.fold, r): fit.runs[r].predictor.predict_proba(t.train.X) for t, fit in zip(tasks, fits) for r in fit.runs}


@pytest.fixture
def float64(monkeypatch):
    """Networks and inputs in float64: float32 rounding differs between a group and single trainings, and
    Adam (eps 1e-7) turns it into whole steps wherever a gradient is near 0 (a batch normalisation over
    the 2 samples of a per-class generator step, say), so exactness is checked in float64."""
    import imbench.methods.gamo.method as gamo_method

    prepare = gamo_method.prepare_inputs
    monkeypatch.setattr(gamo_method, "prepare_inputs", lambda X, spec, device: prepare(X, spec, device).double())
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def _compare(image, changes, tolerance):
    form = "conv" if image else "dense"
    tasks = two_folds(image)
    m = method("gamo", form=form, steps=24, batch_size=8, **changes)
    alone = m.fit_folds(tasks, context("false"))
    grouped = m.fit_folds(tasks, context("true"))
    a, g = _probas(alone, tasks), _probas(grouped, tasks)
    assert a.keys() == g.keys() and len(a) == 4
    for key in a:
        assert np.abs(a[key] - g[key]).max() < tolerance, key
    # the members differ from each other: different draws and seeds, not one training copied
    assert np.abs(g[(0, 0)] - g[(0, 1)]).max() > 1e-3
    for fa, fg in zip(alone, grouped):
        run = fg.runs[0]
        assert run.batched["group_size"] == 4 and run.batched["group_train_s"] > 0
        assert fa.runs[0].batched is None
        assert run.training["steps"] == 24
        for name, v in fa.runs[0].training["final_losses"].items():
            assert v == pytest.approx(run.training["final_losses"][name], rel=max(tolerance, 1e-6), abs=1e-9)
        if form == "dense":  # the fold's balancing samples come from its first repeat's generator, as alone
            # stored in the data's float32: one float32 rounding step apart at most
            assert np.abs(fa.synthetic.X - fg.synthetic.X).max() < max(tolerance, 1e-6)
        else:
            assert fg.synthetic is None


@pytest.mark.parametrize("image, changes", [
    (False, {}),
    (False, {"loss": "ce", "include_majority": True, "soft_labels": True, "generator_updates": "per_class",
             "batch_order": "fixed"}),
    (False, {"generator": "free"}),
    (False, {"discriminator": False}),
    (True, {"v_steps": 6, "f_steps": 3}),
])
def test_a_group_trains_each_member_exactly_as_fold_by_fold_training(image, changes, float64):
    _compare(image, changes, 1e-9)


def test_a_float32_group_agrees_with_fold_by_fold_training_to_rounding():
    _compare(False, {}, 2e-4)


def test_batching_auto_on_the_cpu_fits_fold_by_fold():
    tasks = two_folds(False)
    fits = method("gamo", form="dense", steps=4, batch_size=8).fit_folds(tasks, context("auto"))
    assert all(fit.runs[0].batched is None for fit in fits)


def diverge(monkeypatch, seed: int) -> None:
    """The training seeded ``seed`` reports a divergence at its first loss check."""
    from imbench.divergence import LossWatch

    real = LossWatch.check

    def check(self, value, where):
        if self.seed == seed:
            raise TrainingError(f"{self.what} diverged at {where}, seed {self.seed}")
        return real(self, value, where)

    monkeypatch.setattr(LossWatch, "check", check)


@pytest.mark.parametrize("batching", ["true", "false"])
def test_a_diverging_member_fails_alone(monkeypatch, batching):
    diverge(monkeypatch, 111)  # fold 1, repeat 1
    tasks = two_folds(False)
    fits = method("gamo", form="dense", steps=50, batch_size=8).fit_folds(tasks, context(batching))
    assert isinstance(fits[1].runs[1], TrainingError) and "seed 111" in str(fits[1].runs[1])
    for fold, repeat in ((0, 0), (0, 1), (1, 0)):
        proba = fits[fold].runs[repeat].predictor.predict_proba(tasks[fold].train.X)
        assert np.all(np.isfinite(proba))
    assert list(fits[1].runs) == [0, 1]
    assert all((run.batched is not None) == (batching == "true") for f in fits for run in f.runs.values()
               if not isinstance(run, TrainingError))


def test_a_fold_whose_first_repeat_diverged_takes_its_balancing_samples_from_the_next(monkeypatch):
    diverge(monkeypatch, 100)  # fold 0, repeat 0
    tasks = two_folds(False)
    m = method("gamo", form="dense", steps=50, batch_size=8)
    alone, grouped = m.fit_folds(tasks, context("false")), m.fit_folds(tasks, context("true"))
    for fits in (alone, grouped):
        assert isinstance(fits[0].runs[0], TrainingError) and fits[0].synthetic is not None
    assert np.abs(alone[0].synthetic.X - grouped[0].synthetic.X).max() < 2e-4


def test_batch_runs_true_trains_a_jobs_gamo_runs_as_one_group_through_the_runner(mnist_root, tmp_path):
    import json

    from imbench.runner import run_job
    from test_gamo import compose_plain
    from test_runner import SMALL

    base = [f"data.root={mnist_root}", "method=gamo", "method.form=dense", "method.steps=20", *SMALL, "repeats=2", "profile.max_repeats=2"]
    grouped = run_job(compose_plain([*base, f"out_dir={tmp_path / 'g'}", "batch_runs=true"]), log=lambda *a: None)
    alone = run_job(compose_plain([*base, f"out_dir={tmp_path / 'a'}", "batch_runs=false"]), log=lambda *a: None)
    assert grouped.new == alone.new == 4  # 2 skewed draws × 2 repeats
    records = {p: json.loads(open(p).read()) for p in grouped.paths}
    for rec in records.values():
        assert rec["batched"]["group_size"] == 4 and rec["training"]["steps"] == 20
    # the same runs (identity), and the same numbers up to float32 rounding
    by_id = {json.loads(open(p).read())["run_id"]: json.loads(open(p).read()) for p in alone.paths}
    for rec in records.values():
        other = by_id[rec["run_id"]]
        assert other.get("batched") is None
        assert abs(rec["metrics"]["acsa"] - other["metrics"]["acsa"]) < 0.02


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_group_on_cuda_agrees_with_fold_by_fold_training_on_cuda():
    tasks = two_folds(False)
    m = method("gamo", form="dense", steps=24, batch_size=8)
    cuda = torch.device("cuda")

    def ctx(batching):
        return JobContext(list(range(5)), cuda, ClassifierFactory({}), batching=BatchPolicy(batching), progress=False,
                          log=lambda *a, **k: None)

    grouped = m.fit_folds(tasks, ctx("auto"))
    assert all(run.batched["group_size"] == 4 for fit in grouped for run in fit.runs.values())
    a, g = _probas(m.fit_folds(tasks, ctx("false")), tasks), _probas(grouped, tasks)
    for key in a:
        assert np.abs(a[key] - g[key]).max() < 2e-3, key


def test_a_network_with_dropout_trains_fold_by_fold_even_with_batching_on():
    from imbench.methods.registry import load_method_config

    dense = {**load_method_config("gamo")["networks"]["dense"], "dropout": 0.3}
    notes = []
    ctx = JobContext(list(range(5)), torch.device("cpu"), ClassifierFactory({}), batching=BatchPolicy("true"),
                     progress=False, log=lambda *a, **k: notes.append(" ".join(map(str, a))))
    fits = method("gamo", form="dense", steps=4, batch_size=8, networks={"dense": dense}).fit_folds(two_folds(False), ctx)
    assert all(run.batched is None for fit in fits for run in fit.runs.values())
    assert any("dropout" in n for n in notes)
