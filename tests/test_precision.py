"""The job's ``amp`` setting: who trains in bfloat16 where, what the records say, and bad values."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from imbench import precision
from imbench.classifiers.models import MLP
from imbench.classifiers.train import Schedule, train_model
from imbench.errors import ConfigError
from imbench.methods.generative.base import GenerativeOversampler
from imbench.methods.generative.cgan import CGANSampler
from imbench.precision import BF16, FLOAT32, PrecisionPolicy, precision_policy
from test_robustness import done_dirs, fake_record
from test_bad_input_catalogue import run_imbench
from test_runner import SMALL


@pytest.fixture
def cpu_bf16(monkeypatch):
    """Pretend this CPU has (True) or lacks (False) native bfloat16."""

    from imbench import provenance

    def set_native(native: bool) -> None:
        monkeypatch.setattr(precision, "cpu_bf16_support", lambda: {"avx512_bf16": native, "amx_bf16": False,
                                                                    "native": native, "capability": "test"})
        provenance.hardware.cache_clear()  # the records' hardware entry reads it (cached per process)

    yield set_native
    provenance.hardware.cache_clear()


@pytest.mark.parametrize("amp, native, classifier, generator", [
    ("auto", True, FLOAT32, FLOAT32),   # the CPU default stays float32 even with native bf16
    ("auto", False, FLOAT32, FLOAT32),
    ("bf16", True, BF16, BF16),
    ("bf16", False, FLOAT32, FLOAT32),  # emulated bf16 is slower than float32: not used
    ("none", True, FLOAT32, FLOAT32),
])
def test_the_policy_on_the_cpu(amp, native, classifier, generator, cpu_bf16):
    cpu_bf16(native)
    policy = PrecisionPolicy(amp)
    assert policy.classifier("cpu") == classifier
    assert policy.generator("cpu") == generator
    assert (policy.note("cpu") is not None) == (amp == "bf16" and not native)


def test_none_overrides_a_classifiers_bf16_schedule_and_auto_keeps_cuda_only(cpu_bf16):
    cpu_bf16(True)
    assert PrecisionPolicy("auto").classifier("cpu", schedule_amp="bf16") == FLOAT32
    assert PrecisionPolicy("none").classifier("cpu", schedule_amp="bf16") == FLOAT32
    assert PrecisionPolicy("bf16", require_native=False).classifier("cpu", schedule_amp="none") == BF16


@pytest.mark.parametrize("value", ["fast", "fp16", 16, True])
def test_bad_amp_values_are_config_errors(value):
    with pytest.raises(ConfigError, match="amp must be one of auto, bf16, none"):
        PrecisionPolicy.from_config(value)


def test_a_classifier_trains_under_bf16_autocast_when_the_policy_gives_it(cpu_bf16, one_torch_thread):
    cpu_bf16(True)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(256, 20, generator=g)
    y = (X[:, 0] > 0).long()
    results = {}
    for amp in ("bf16", "none"):
        torch.manual_seed(0)
        model = MLP(20, 2, hidden=(16,), dropout=0.0)
        with precision_policy(PrecisionPolicy(amp)):
            results[amp] = train_model(model, X, y, Schedule(epochs=5, batch_size=32, lr=1e-2), seed=0)
    assert results["bf16"].precision == BF16 and results["none"].precision == FLOAT32
    # both learn the task; bfloat16 rounding makes the losses differ, but only a little
    assert results["bf16"].final_loss < 0.5 * results["bf16"].history[0]
    assert results["bf16"].final_loss != results["none"].final_loss
    assert abs(results["bf16"].final_loss - results["none"].final_loss) < 0.1


class _TinyGenerator(GenerativeOversampler):
    """A one-layer generator: enough to see in which precision the base class trains and samples."""

    method_name = "tiny"

    def _fit_generator(self, X, y, n_classes, gen) -> None:
        self.net_ = torch.nn.Linear(4, int(np.prod(X.shape[1:])))
        self.autocast_in_training_ = torch.is_autocast_enabled("cpu")
        self.training_dtype_ = self.net_(torch.zeros(2, 4)).dtype
        self._log_epoch(0, loss=1.0)

    def _sample(self, class_index, n, gen):
        self.sampling_dtype_ = self.net_(torch.zeros(n, 4)).dtype
        return torch.sigmoid(self.net_(torch.randn(n, 4, generator=gen))).float()


@pytest.mark.parametrize("amp, dtype", [("bf16", torch.bfloat16), ("auto", torch.float32)])
def test_a_generator_trains_in_the_policys_precision_and_samples_in_float32(amp, dtype, cpu_bf16):
    cpu_bf16(True)
    rng = np.random.default_rng(0)
    X = rng.random((12, 1, 4, 4), dtype=np.float32)
    y = np.r_[np.zeros(9, int), np.ones(3, int)]
    with precision_policy(PrecisionPolicy(amp)):
        sampler = _TinyGenerator(epochs=1, batch_size=4, device="cpu", random_state=0)
        X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.training_dtype_ == dtype and sampler.autocast_in_training_ == (amp == "bf16")
    assert sampler.sampling_dtype_ == torch.float32  # sampling is outside autocast
    assert sampler.fit_info()["precision"] == (BF16 if amp == "bf16" else FLOAT32)
    assert X_res.dtype == np.float32 and len(X_res) == 18 and 0 <= X_res.min() and X_res.max() <= 1


@pytest.mark.slow  # emulated bf16 convolutions on a CPU without it: ~14 s for one step
def test_a_stepped_generator_trains_under_bf16_when_asked(cpu_bf16, one_torch_thread):
    cpu_bf16(True)
    rng = np.random.default_rng(0)
    X = rng.random((80, 28, 28), dtype=np.float32)
    y = np.r_[np.zeros(64, int), np.ones(16, int)]
    with precision_policy(PrecisionPolicy("bf16")):
        sampler = CGANSampler(epochs=1, batch_size=64, device="cpu", random_state=0)
        X_res, _ = sampler.fit_resample(X, y)
    assert sampler.fit_info()["precision"] == BF16 and X_res.dtype == np.float32 and len(X_res) == 128


def test_a_job_asking_for_bf16_on_a_cpu_without_it_says_so_records_float32_and_resumes_under_auto(
        cpu_bf16, mnist_root, tmp_path, one_torch_thread):
    cpu_bf16(False)
    job = [f"data.root={mnist_root}", f"out_dir={tmp_path}", *SMALL, "folds=1", "method=none"]
    code, text = run_imbench([*job, "amp=bf16"])
    assert code == 0, text[-1500:]
    assert "this CPU has neither avx512_bf16 nor AMX" in text
    (run,) = done_dirs(tmp_path)
    rec = json.loads((run / "result.json").read_text())
    assert rec["amp"] == "bf16" and rec["training"]["precision"] == FLOAT32
    assert rec["hardware"]["cpu_bf16"]["native"] is False
    code, text = run_imbench([*job, "amp=auto"])  # amp is not part of a run's identity
    assert code == 0 and "0 new, 1 resumed" in text and done_dirs(tmp_path) == [run]


def test_a_cell_mixing_generator_precisions_says_so():
    from imbench.tables.cli import build_table
    from test_robustness import GAMO_SPEC

    bf16 = fake_record(1)
    bf16["oversampler"] = {"precision": BF16}
    table = build_table(GAMO_SPEC, [fake_record(0), bf16])
    (note,) = [n for n in table.notes if "execution settings" in n]
    assert "generator bf16-autocast" in note
