"""cWGAN (Engelmann & Lessmann 2021): its gradient penalty, cross layer and auxiliary term by hand, a short fit
on a separable toy set (labels, clip range, amount, reproducibility), the update schedule, the profile caps
and the errors of bad input and of a diverging training. Tiny data, one CPU thread."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from imbench.errors import ConfigError, TrainingError
from imbench.methods.base import resolve_sampling_strategy, synthetic_mask
from imbench.methods.cwgan import (AuxClassifier, Critic, CrossLayer, CWGANSampler, Generator, aux_term,
                                   class_codes, gradient_penalty)
from imbench.methods.protocol import apply_caps

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = dict(epochs=12, aux_epochs=3, device="cpu")


def toy(n_major: int = 60, n_minor: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two separable 2-D classes: the majority (0) in [0, 0.4]², the minority (1) in [0.6, 1]²."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.uniform(0.0, 0.4, (n_major, 2)), rng.uniform(0.6, 1.0, (n_minor, 2))]).astype(np.float32)
    return X, np.array([0] * n_major + [1] * n_minor)


# ----- the building blocks by hand -----------------------------------------------------------------------
class _Quadratic(torch.nn.Module):
    """D(x, c) = s/2 · |x|² + c: gradient s·x̂, GP = mean((s·|x̂| - 1)²), dGP/ds = mean(2(s|x̂| - 1)|x̂|)."""

    def __init__(self, s: float) -> None:
        super().__init__()
        self.s = torch.nn.Parameter(torch.tensor(s))

    def forward(self, x, code):
        return 0.5 * self.s * x.square().sum(1) + code[:, 0]


def test_gradient_penalty_equals_a_hand_computation_and_is_differentiable_in_the_critic():
    real = torch.tensor([[1.0, 0.0], [2.0, 2.0], [0.0, 0.0]])
    fake = torch.tensor([[0.0, 1.0], [0.0, 0.0], [3.0, 4.0]])
    eps = torch.tensor([[0.25], [0.5], [1.0]])
    critic = _Quadratic(2.0)
    gp = gradient_penalty(critic, real, fake, torch.ones(3, 1), eps=eps)
    # x̂ = (0.25, 0.75), (1, 1), (0, 0); |x̂| = sqrt(0.625), sqrt(2), 0
    norms = np.array([math.sqrt(0.625), math.sqrt(2.0), 0.0])
    assert gp.item() == pytest.approx(np.mean((2 * norms - 1) ** 2), rel=1e-5)
    (ds,) = torch.autograd.grad(gp, critic.s)
    assert ds.item() == pytest.approx(np.mean(2 * (2 * norms - 1) * norms), rel=1e-5)


def test_gradient_penalty_of_the_real_critic_matches_per_row_autograd():
    torch.manual_seed(0)
    critic = Critic(n_features=3, code_dim=1).eval()  # eval: no input noise
    real, fake = torch.rand(5, 3), torch.rand(5, 3)
    code, eps = torch.tensor([[1.0], [-1.0], [1.0], [1.0], [-1.0]]), torch.rand(5, 1)
    penalties = []
    for i in range(5):
        x_hat = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).unsqueeze(0).requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x_hat, code[i:i + 1]).sum(), x_hat)
        penalties.append((g.norm() - 1) ** 2)
    expected = torch.stack(penalties).mean()
    assert gradient_penalty(critic, real, fake, code, eps=eps).item() == pytest.approx(expected.item(), rel=1e-4)


def test_cross_layer_output_equals_the_formula():
    layer = CrossLayer(3)
    assert torch.equal(layer.bias.data, torch.full((3,), 0.1))  # the authors' initialisation
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.1, 0.2, 0.3]))
        layer.bias.fill_(1.0)
    x0 = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    xl = torch.tensor([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0]])
    # row 1: xl·w = 0.05 - 0.2 + 0.6 = 0.45 -> x0 * 0.45 + 1 + xl; row 2: xl·w = 0.6 -> (0, 0.6, 0) + 1 + 1
    expected = torch.tensor([[1.95, 0.9, 4.35], [2.0, 2.6, 2.0]])
    torch.testing.assert_close(layer(x0, xl), expected)


def test_network_shapes_and_class_codes():
    assert class_codes(2).tolist() == [[-1.0], [1.0]]  # the authors' {0, 1} -> {-1, +1}
    assert class_codes(3).tolist() == [[1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]
    G, D, A = Generator(30, 1, 5), Critic(5, 1), AuxClassifier(5, 1)
    z, code = torch.rand(4, 30), torch.ones(4, 1)
    assert G(z, code).shape == (4, 5) and D(G(z, code), code).shape == (4,) and A(torch.rand(4, 5)).shape == (4, 1)
    assert [block[0].out_features for block in G.body.hidden] == [128, 64]
    assert G.extra.out_features == 32 and len(G.body.cross) == 1 and len(D.body.cross) == 2
    norms = [[type(m).__name__ for m in block] for block in D.body.hidden]
    assert norms == [["Linear"], ["Linear", "LayerNorm"], ["Linear", "LayerNorm"]]
    assert D.noise_std == 0.01 and len(A.body.cross) == 2


def test_aux_term_by_hand_and_its_scale_is_a_constant():
    logits = torch.tensor([[2.0], [-1.0], [0.0]], requires_grad=True)
    target = torch.tensor([[1.0], [1.0], [0.0]])
    adversarial = torch.tensor(-2.0, requires_grad=True)
    term, bce = aux_term(logits, target, adversarial, weight=0.1, clamp=0.3)
    per_element = [math.log1p(math.exp(-2.0)), math.log1p(math.exp(1.0)), math.log(2.0)]  # 0.127, 1.313, 0.693
    clamped = [max(v, 0.3) for v in per_element]
    assert bce.item() == pytest.approx(np.mean(clamped), rel=1e-6)
    assert term.item() == pytest.approx(0.1 * np.mean(clamped) * 2.0, rel=1e-6)
    term.backward()
    assert adversarial.grad is None  # |L_adv| scales the term as a constant
    assert logits.grad[0, 0].item() == 0.0  # the clamped element passes no gradient
    assert logits.grad[1, 0].item() != 0.0


def test_aux_weight_changes_the_generator_loss_by_the_aux_term():
    X, y = toy()
    one_step = dict(epochs=1, aux_epochs=2, max_batches_per_epoch=1, device="cpu", random_state=0)
    with_aux = CWGANSampler(aux_weight=0.1, **one_step)
    with_aux.fit_resample(X, y)
    row = with_aux.history_[0]
    assert with_aux.generator_steps_ == 1 and row["aux_bce"] >= 0.3
    assert row["generator_loss"] - row["generator_adversarial"] == pytest.approx(
        0.1 * row["aux_bce"] * abs(row["generator_adversarial"]), rel=1e-4)
    without = CWGANSampler(aux_weight=0.0, **one_step)
    without.fit_resample(X, y)
    row0 = without.history_[0]
    assert row0["generator_loss"] == row0["generator_adversarial"] and row0["aux_bce"] is None
    assert without.aux_classifier_ is None and without.fit_info()["aux_accuracy"] is None
    assert row0["generator_loss"] != row["generator_loss"]


# ----- a short fit --------------------------------------------------------------------------------------
class _Spy(CWGANSampler):
    """Records the class code, count and label of every generation."""

    def _generate(self, code_row, n, label, chunk=4096):
        self.__dict__.setdefault("asked_", []).append((code_row.tolist(), n, label))
        return super()._generate(code_row, n, label, chunk)


def test_short_fit_on_a_separable_toy_set():
    X, y = toy()
    strategy = resolve_sampling_strategy("double_minority", {0: 60, 1: 20}, [1])  # EGL's amount
    assert strategy == {1: 40}
    sampler = _Spy(sampling_strategy=strategy, random_state=3, **FAST)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.asked_ == [([1.0], 20, 1)]  # conditioned on the minority's code, once, for the amount asked
    mask = synthetic_mask(X, y, X_res, y_res)  # originals first and unchanged
    assert mask.sum() == 20 and (y_res[mask] == 1).all() and X_res.dtype == X.dtype
    new = X_res[mask]
    assert (new >= X.min(0)).all() and (new <= X.max(0)).all()
    twin = CWGANSampler(sampling_strategy=strategy, random_state=3, **FAST).fit_resample(X, y)
    np.testing.assert_array_equal(twin[0], X_res)
    other = CWGANSampler(sampling_strategy=strategy, random_state=4, **FAST).fit_resample(X, y)[0]
    assert not np.array_equal(other[mask], new)
    info = sampler.fit_info()
    # 80 rows = 2 batches of 64 and 16 per epoch: 24 critic updates; the generator after updates 1, 4, ..., 22
    assert info["critic_steps"] == 24 and info["generator_steps"] == 8
    assert info["n_generated"] == 20 and info["generated"] == {"1": 20} and info["epochs"] == 12
    assert 0.0 <= info["aux_accuracy"] <= 1.0 and info["fit_seconds"] > 0 and info["seed"] == 3
    assert len(sampler.history_) == 12 and info["final_losses"]["generator_loss"] is not None


def test_without_clip_rows_may_leave_the_range_and_multiclass_conditions_each_class():
    rng = np.random.default_rng(1)
    X = rng.uniform(0.45, 0.55, size=(45, 3))  # a narrow range an untrained generator misses
    y = np.repeat([0, 1, 2], [25, 12, 8])
    sampler = _Spy(epochs=1, aux_epochs=1, clip=False, device="cpu", random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sorted(sampler.n_generated_.items()) == [(1, 13), (2, 17)] and X_res.dtype == np.float64
    assert sorted(sampler.asked_) == [([-1.0, -1.0, 1.0], 17, 2), ([-1.0, 1.0, -1.0], 13, 1)]
    assert sampler.aux_classifier_.out.out_features == 3  # one-vs-rest outputs
    new = X_res[len(X):]
    assert ((new < X.min(0)) | (new > X.max(0))).any()
    clipped = CWGANSampler(epochs=1, aux_epochs=1, device="cpu", random_state=0).fit_resample(X, y)[0][len(X):]
    np.testing.assert_array_equal(clipped, np.clip(new, X.min(0), X.max(0)))


def test_profile_caps_epochs_aux_epochs_and_batches():
    cfg = {"epochs": 300, "aux_epochs": 30, "max_batches_per_epoch": None}
    capped = apply_caps(cfg, CWGANSampler.profile_caps, {"max_generator_epochs": 1, "max_generator_batches": 50})
    assert capped == {"epochs": 1, "aux_epochs": 1, "max_batches_per_epoch": 50}


# ----- bad input ----------------------------------------------------------------------------------------
def test_images_are_refused_with_a_config_error():
    X = np.random.default_rng(0).uniform(size=(20, 4, 4)).astype(np.float32)
    y = np.array([0] * 14 + [1] * 6)
    with pytest.raises(ConfigError, match=r"CWGAN takes tabular data, a 2-D array .* shape \(20, 4, 4\)"):
        CWGANSampler(**FAST).fit_resample(X, y)


def test_a_single_class_is_refused():
    X, _ = toy()
    with pytest.raises(ValueError, match="needs to have more than 1 class"):
        CWGANSampler(**FAST).fit_resample(X, np.zeros(len(X), dtype=int))


@pytest.mark.parametrize("param,value", [("epochs", -1), ("aux_epochs", 0), ("gp_weight", -15.0),
                                         ("aux_weight", -0.1), ("clip", "yes"), ("critic_updates", 0)])
def test_bad_parameters_are_refused_at_fit(param, value):
    X, y = toy()
    with pytest.raises(InvalidParameterError, match=rf"The '{param}' parameter of CWGANSampler must be") as err:
        CWGANSampler(**{**FAST, param: value}).fit_resample(X, y)
    assert isinstance(err.value, ConfigError)


@pytest.mark.parametrize("aux_weight,where", [(0.0, "the critic loss is nan at epoch 1 of training"),
                                              (0.1, "the auxiliary classifier's BCE is nan at epoch 1 of its "
                                                    "pre-training")])
def test_a_non_finite_loss_raises_a_training_error_naming_method_and_epoch(aux_weight, where):
    X, y = toy()
    X = X * np.float32(1e30)  # finite input that overflows float32 inside the networks
    with pytest.raises(TrainingError, match=rf"CWGAN diverged: {where} \(seed 0\)"):
        CWGANSampler(**{**FAST, "aux_weight": aux_weight}, random_state=0).fit_resample(X, y)
