"""Every method config and every classifier config composes, instantiates and fits (tiny), through the
method protocol: a broken ``_target_`` or parameter fails here, not in a user's sweep."""
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from imbench.config import apply_profile
from imbench.methods.protocol import ClassifierFactory, FoldTask, JobContext, Split
from imbench.methods.registry import METHODS, build_method

CONF = Path(__file__).resolve().parents[1] / "conf"
METHOD_NAMES = sorted(p.stem for p in (CONF / "method").glob("*.yaml"))
CLASSIFIERS = sorted(p.stem for p in (CONF / "classifier").glob("*.yaml"))
COUNTS = {0: 40, 1: 16, 2: 12}


def compose_plain(overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return OmegaConf.to_container(compose(config_name="config", overrides=overrides), resolve=True)


def _data(image: bool, seed: int = 0) -> Split:
    """Three overlapping classes (their means differ in a few inputs), as 1×28×28 images in [0, 1] or as
    6 features."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(n, c) for c, n in COUNTS.items()])
    shape = (1, 28, 28) if image else (6,)
    X = rng.uniform(0, 0.5, size=(len(y), *shape)).astype(np.float32)
    flat = X.reshape(len(y), -1)
    for c in COUNTS:
        flat[y == c, :3] += 0.2 * c
    return Split(np.clip(X, 0, 1), y)


def _task(train: Split, val: Split | None = None, withheld: Split | None = None) -> FoldTask:
    return FoldTask(fold=0, train=train, val=val, minority=[1, 2], counts=dict(COUNTS), method_seed=3,
                    repeats={0: 11}, withheld=withheld)


def _tiny_classifier(cfg: dict) -> dict:
    clf = dict(cfg)
    clf["schedule"] = {**clf["schedule"], "epochs": 1, "steps": 3}
    return clf


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# methods whose full-size networks take minutes on one CPU core even for one mini-batch: narrower here
TINY_METHODS = {"dgc": ["method.width=[8,8,8,8]", "method.decoder_width=[8,8,8]", "method.mc_samples=2"]}


# methods whose own test file trains them and whose fit here takes tens of seconds even capped: `-m slow`
SLOW_METHODS = {"bagan"}  # autoencoder + GAN, ~20-40 s; tests/test_bagan.py trains it by default


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_METHODS else n
                                  for n in METHOD_NAMES])
def test_every_method_config_composes_instantiates_and_fits(name):
    eff = apply_profile(compose_plain([f"method={name}", "profile=quick", "profile.max_generator_batches=1",
                                       "profile.max_steps=3",
                                       "profile.max_pix_steps=2", "profile.max_epochs=1", "device=cpu",
                                       *TINY_METHODS.get(name, [])]))
    method = build_method(eff["method"])
    assert type(method) is METHODS[name].cls
    ctx = JobContext(classes=[0, 1, 2], device=torch.device("cpu"),
                     classifiers=ClassifierFactory(_tiny_classifier(eff["classifier"])), progress=False)
    # a method that trains with the classifier may use the validation part (EGL needs one)
    val = _data(image=True, seed=2) if METHODS[name].kind == "with_classifier" else None
    # a method that asks for the rows the skew left out (Potential) gets them, as the runner gives them
    withheld = _data(image=True, seed=3) if METHODS[name].cls.needs_withheld else None
    fit = method.fit_fold(_task(_data(image=True), val, withheld), ctx)
    run = fit.runs[0]
    proba = run.predictor.predict_proba(_data(image=True, seed=1).X)
    assert proba.shape == (68, 3) and np.allclose(proba.sum(1), 1.0)
    if name == "egl":  # pre-trains the classifier, then its own (capped) meta epochs
        assert run.training["pretrain"]["steps"] == 3 and run.training["epochs"] == 1
    elif name == "dgc":  # epochs, not a step budget: 1 capped epoch of 1 capped mini-batch
        assert run.training["epochs"] == 1 and run.training["steps"] == 1
    else:
        assert run.training["steps"] == 3
    if METHODS[name].kind == "resample":
        assert fit.synthetic is not None and len(fit.synthetic.y) == len(fit.synthetic.mask)
        assert (fit.synthetic.count > 0) == (name not in ("none", "potential"))  # Potential adds real rows
        if name == "potential":
            assert len(fit.synthetic.y) == len(_data(image=True).y) + COUNTS[1] + COUNTS[2]
        if name == "cwgan":  # its config asks for EGL's amount; the profile caps both trainings to 1 epoch of 1 batch
            info = fit.info["oversampler"]
            assert fit.synthetic.count == COUNTS[1] + COUNTS[2] == info["n_generated"]
            assert info["epochs"] == info["aux_epochs"] == 1 and info["critic_steps"] == info["generator_steps"] == 1
    elif name == "gamo2pix":  # an end-to-end method that also makes images (for FID and previews)
        s = fit.synthetic
        assert s.count == sum(max(COUNTS.values()) - COUNTS[c] for c in (1, 2))
        assert s.X.shape[1:] == _data(image=True).X.shape[1:] and 0 <= s.X.min() and s.X.max() <= 1
        assert fit.info["gamo2pix"]["steps_per_class"] == 2
    elif name == "egl":  # the minority points, duplicated and moved
        s = fit.synthetic
        assert s.count == COUNTS[1] + COUNTS[2] and s.X.shape[1:] == _data(image=True).X.shape[1:]
        assert fit.info["egl"]["mode"] == "paper"
    else:
        assert fit.synthetic is None


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_every_classifier_config_composes_instantiates_and_fits(name):
    eff = apply_profile(compose_plain([f"classifier={name}", "profile=quick"]))
    clf = ClassifierFactory(_tiny_classifier(eff["classifier"]))()
    tabular = name.startswith("tabular_mlp")
    train = _data(image=not tabular)
    val = _data(image=not tabular, seed=2)
    clf.fit(train.X, train.y, classes=[0, 1, 2], seed=0, device="cpu", val=(val.X, val.y),
            val_score=lambda y, p: float(np.mean(p.argmax(1) == y)))
    proba = clf.predict_proba(_data(image=not tabular, seed=1).X)
    assert proba.shape == (68, 3) and np.allclose(proba.sum(1), 1.0)
    assert clf.result.steps_run == 3


def test_a_method_cannot_overwrite_what_the_runner_records():
    from imbench.methods.protocol import FittedRun, FoldFit
    from imbench.runner import RESERVED_RECORD_KEYS, build_record

    class _Plan:
        effective = {"method": {"name": "x", "_target_": "imbench.methods.focal.Focal"}}

    fit = FoldFit(runs={}, info={"metrics": {"acsa": 1.0}})
    with pytest.raises(ValueError, match="metrics"):
        build_record(_Plan(), None, 0, fit, FittedRun(None, {}, 0.0), {}, None, {})
    assert "oversampler" not in RESERVED_RECORD_KEYS and "loss" not in RESERVED_RECORD_KEYS
