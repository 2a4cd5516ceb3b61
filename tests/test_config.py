"""Config composition for every experiment file, the registry, and errors for bad overrides."""
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from imbench.config import apply_profile, identity, validate
from imbench.errors import ConfigError
from imbench.methods.registry import METHODS

CONF = Path(__file__).resolve().parents[1] / "conf"
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


def compose_plain(overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    return OmegaConf.to_container(cfg, resolve=True)


def test_default_config_is_valid():
    cfg = compose_plain([])
    validate(cfg)
    assert (cfg["data"]["dataset"], cfg["method"]["name"], cfg["classifier"]["name"]) == ("mnist", "smote", "mlp")
    assert cfg["device"] == "auto" and cfg["ir"] == 100


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes_and_validates(name):
    cfg = compose_plain([f"experiment={name}"])
    validate(cfg)
    assert cfg["experiment_name"] == name
    assert cfg["table"]["layout"] and cfg["table"]["rows"]


@pytest.mark.parametrize("name,expected", [
    ("fajardo_6", dict(ir=80, folds=5, repeats=3, skew="fajardo_m7", data="mnist", clf="mlp")),
    ("fajardo_7", dict(ir=320, folds=5, repeats=3, skew="fajardo_m7", data="fmnist", clf="mlp")),
    ("gamo_1", dict(ir=100, folds=10, repeats=1, skew="gamo_mnist", data="mnist", clf="gamo_cn")),
    ("imsic_1", dict(ir=100, folds=10, repeats=1, skew="gamo_mnist", data="mnist", clf="cnn")),
    ("egl_1", dict(ir=50, folds=4, repeats=1, skew="binary", data="adult", clf="tabular_mlp")),
])
def test_experiment_settings(name, expected):
    cfg = compose_plain([f"experiment={name}"])
    got = dict(ir=cfg["ir"], folds=cfg["folds"], repeats=cfg["repeats"], skew=cfg["skew"]["name"],
               data=cfg["data"]["dataset"], clf=cfg["classifier"]["name"])
    assert got == expected


def test_gamo_protocol_uses_100_test_images_per_class():
    assert compose_plain(["experiment=gamo_1"])["protocol"]["test_per_class"] == 100


def test_registry_is_built_from_the_configs_and_their_classes():
    from imbench.methods.protocol import KINDS, Method
    from imbench.methods.registry import load_method_config

    files = {p.stem for p in (CONF / "method").glob("*.yaml")}
    assert files == set(METHODS)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):  # once: it is most of the cost
        composed = {name: OmegaConf.to_container(compose(config_name="config", overrides=[f"method={name}"]),
                                                 resolve=True) for name in files}
    for name in files:
        cfg = composed[name]
        info = METHODS[name]
        assert cfg["method"]["name"] == name and "kind" not in cfg["method"]
        assert issubclass(info.cls, Method) and info.kind == info.cls.kind and info.kind in KINDS
        assert info.label and info.reference
        # the registry's own loader composes a method config as Hydra does (defaults included)
        assert load_method_config(name) == cfg["method"]
    assert METHODS["r_cgan"].label == "R-CGAN" and METHODS["smote"].kind == "resample"


def test_r_variants_inherit_their_base_config():
    base, r = compose_plain(["method=cgan"])["method"], compose_plain(["method=r_cgan"])["method"]
    assert r["sampler"] == {**base["sampler"], "epochs": 60, "random_oversample_first": True}
    text = (CONF / "method" / "r_cgan.yaml").read_text()
    assert "- cgan" in text and "_target_" not in text  # inherited, not copied


def test_profile_caps_are_declared_by_the_classes():
    """A generator's epochs and batches are capped by the quick profile through its class's declaration,
    with no key name in apply_profile; a parameter the class does not declare is left alone."""
    quick = apply_profile(compose_plain(["method=bagan", "profile=quick"]))["method"]["sampler"]
    assert (quick["epochs"], quick["ae_epochs"], quick["max_batches_per_epoch"]) == (1, 1, 50)
    assert quick["batch_size"] == 128
    tuned = apply_profile(compose_plain(["method=tuned_smote", "profile=quick"]))["method"]["sampler"]
    assert tuned["mlp_epochs"] == 3 and tuned["cv"] == 5


def test_quick_profile_caps_and_paper_profile_does_not():
    quick = apply_profile(compose_plain(["experiment=fajardo_6", "profile=quick"]))
    assert (quick["folds"], quick["repeats"], quick["classifier"]["schedule"]["epochs"]) == (2, 1, 3)
    assert quick["classifier"]["weight_grid"] is None
    paper = apply_profile(compose_plain(["experiment=fajardo_6", "profile=paper"]))
    assert (paper["folds"], paper["repeats"], paper["classifier"]["schedule"]["epochs"]) == (5, 3, 20)
    assert len(paper["classifier"]["weight_grid"]) == 10


def test_identity_ignores_where_it_runs_but_not_what():
    a = compose_plain([])
    b = compose_plain(["device=cpu", "out_dir=/tmp/x", "data.root=/elsewhere"])
    c = compose_plain(["ir=50"])
    assert identity(apply_profile(a)) == identity(apply_profile(b))
    assert identity(apply_profile(a)) != identity(apply_profile(c))


@pytest.mark.parametrize("override,pattern", [
    (["ir=0.5"], "ir must be a number >= 1"),
    (["device=tpu"], "device must be auto, cpu, cuda"),
    (["folds=0"], "folds must be an integer >= 1"),
    (["skew=step", "skew.minority=[]"], "minority"),
])
def test_bad_values_fail_validation(override, pattern):
    with pytest.raises(ConfigError, match=pattern):
        validate(compose_plain(override))


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "imbench", *args], capture_output=True, text=True, timeout=120)


def test_cli_unknown_method_lists_choices():
    out = run_cli("method=gamoo")
    assert out.returncode != 0
    assert "Available options in 'method'" in out.stderr and "smote" in out.stderr


def test_cli_unknown_key_fails_before_training():
    out = run_cli("nonsense_key=3")
    assert out.returncode != 0 and "nonsense_key" in out.stderr


def test_cli_bad_value_exits_nonzero_with_message(tmp_path):
    out = run_cli("ir=0", f"out_dir={tmp_path}")
    assert out.returncode == 2 and "ir must be a number >= 1" in out.stderr
    assert not any(tmp_path.glob("*/done"))


def test_profiles_cap_generators_and_fid():
    quick = apply_profile(compose_plain(["experiment=fajardo_5", "method=bagan", "profile=quick"]))
    s = quick["method"]["sampler"]
    assert (s["epochs"], s["ae_epochs"], s["max_batches_per_epoch"]) == (1, 1, 50)
    assert quick["fid"]["enabled"] and quick["fid"]["max_per_class"] == 200
    smaller = apply_profile(compose_plain(["experiment=fajardo_5", "profile=quick", "fid.max_per_class=50"]))
    assert smaller["fid"]["max_per_class"] == 50
    paper = apply_profile(compose_plain(["experiment=fajardo_5", "method=cvae", "profile=paper"]))
    assert (paper["method"]["sampler"]["epochs"], paper["method"]["sampler"]["max_batches_per_epoch"]) == (300, None)
    assert paper["fid"]["max_per_class"] is None
    tuned = apply_profile(compose_plain(["experiment=fajardo_9", "profile=quick"]))
    assert tuned["method"]["name"] == "tuned_smote" and tuned["method"]["sampler"]["mlp_epochs"] == 3
    # FID settings measure the run; they do not change which run it is
    assert identity(quick) == identity(apply_profile(compose_plain(
        ["experiment=fajardo_5", "method=bagan", "profile=quick", "fid.enabled=false"])))
