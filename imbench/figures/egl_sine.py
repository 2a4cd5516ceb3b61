"""EGL Fig. 1: the sine-wave demo of explicit-gradient augmentation (Yasinnik et al., §4, App. A; spec §7.5).

    python -m imbench.figures.egl_sine [--seeds 10] [--iterations 2000] [--move xy|x|y] [--results-dir results]

The true function is sin(πx/2) (amplitude 1, frequency π/2, phase 0). Per seed: 5 training and 5 validation
points with x ~ U(−5, 5) on the curve, 20 synthetic points with x ~ U(−5, 5) and y ~ U(−1, 1) (the caption's
"span [−1, 1]", read as the synthetic targets' range; the text draws every input from [−5, 5]). The regressor:
1 → 10 tanh → 1, mean-squared error.

* baseline: trained on train ∪ valid (Adam 1e-2, ``--pretrain`` steps: the paper gives no optimiser);
* EGL: trained the same way on train only, then ``--iterations`` meta steps: θ′ = θ − η1 ∇θ MSE(train ∪ synthetic),
  the synthetic points move by −η2 ∇ MSE(valid; θ′) (both coordinates with ``--move xy``, the default; ``x`` or
  ``y`` moves one), and θ ← θ′ (the authors' mechanics, spec §7.2). η1 = 0.1, η2 = 1 as the paper says.

Scores per seed: the regressor's MSE to the true curve on 1,001 points of [−5, 5] (baseline, train only, EGL) and
the synthetic points' mean |y − sin(πx/2)| before and after. Writes ``<results-dir>/egl_fig1_sine.png`` (seed 0's
three panels, as the paper's figure; other settings than the defaults add them to the name), ``.md`` (the scores over seeds, mean ± std, the command, commit and
hardware) and ``.json`` (every seed's numbers).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

MOVES = ("xy", "x", "y")


@dataclass(frozen=True)
class SineSettings:
    """The demo's settings (paper values where it gives them)."""

    n_train: int = 5
    n_valid: int = 5
    n_synthetic: int = 20
    eta1: float = 0.1
    eta2: float = 1.0
    iterations: int = 2000
    pretrain: int = 2000
    lr: float = 1e-2
    move: str = "xy"


@dataclass
class SineData:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor
    x_synth: torch.Tensor
    y_synth: torch.Tensor


def truth(x: torch.Tensor | np.ndarray):
    return (torch.sin if isinstance(x, torch.Tensor) else np.sin)(math.pi * x / 2)


def draw(settings: SineSettings, seed: int) -> SineData:
    g = torch.Generator().manual_seed(seed)

    def u(n: int, lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, 1, generator=g, dtype=torch.float64)

    x_tr, x_va = u(settings.n_train, -5, 5), u(settings.n_valid, -5, 5)
    return SineData(x_tr, truth(x_tr), x_va, truth(x_va), u(settings.n_synthetic, -5, 5),
                    u(settings.n_synthetic, -1, 1))


def regressor(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, 10), nn.Tanh(), nn.Linear(10, 1)).double()


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float) -> nn.Module:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return model


def meta_gradient(model: nn.Module, params: dict, data: SineData, xs: torch.Tensor, ys: torch.Tensor,
                  eta1: float) -> dict:
    """θ′ and ∇ of MSE(valid; θ′) with respect to the synthetic points' x and y."""
    x = torch.cat([data.x_train, xs])
    y = torch.cat([data.y_train, ys])
    inner = nn.functional.mse_loss(functional_call(model, params, (x,)), y)
    grads = torch.autograd.grad(inner, list(params.values()), create_graph=True)
    stepped = {k: p - eta1 * g for (k, p), g in zip(params.items(), grads)}
    val = nn.functional.mse_loss(functional_call(model, stepped, (data.x_valid,)), data.y_valid)
    gx, gy = torch.autograd.grad(val, (xs, ys))
    return {"stepped": {k: v.detach() for k, v in stepped.items()}, "grad_x": gx, "grad_y": gy,
            "valid_loss": float(val.detach())}


def egl(model: nn.Module, data: SineData, settings: SineSettings) -> dict:
    """The meta loop; returns the moved synthetic points and the validation loss per iteration."""
    params = {k: p.detach().clone() for k, p in model.named_parameters()}
    xs, ys = data.x_synth.clone(), data.y_synth.clone()
    losses = []
    for _ in range(settings.iterations):
        xs.requires_grad_(True)
        ys.requires_grad_(True)
        params = {k: v.requires_grad_(True) for k, v in params.items()}
        step = meta_gradient(model, params, data, xs, ys, settings.eta1)
        with torch.no_grad():
            xs = (xs - settings.eta2 * step["grad_x"]) if "x" in settings.move else xs.detach()
            ys = (ys - settings.eta2 * step["grad_y"]) if "y" in settings.move else ys.detach()
        params = step["stepped"]
        losses.append(step["valid_loss"])
    with torch.no_grad():
        for k, p in model.named_parameters():
            p.copy_(params[k])
    return {"x_synth": xs.detach(), "y_synth": ys.detach(), "valid_loss": losses}


def curve_mse(model: nn.Module) -> float:
    grid = torch.linspace(-5, 5, 1001, dtype=torch.float64)[:, None]
    with torch.no_grad():
        return float(nn.functional.mse_loss(model(grid), truth(grid)))


def run_seed(settings: SineSettings, seed: int) -> dict:
    data = draw(settings, seed)
    baseline = fit(regressor(seed), torch.cat([data.x_train, data.x_valid]), torch.cat([data.y_train, data.y_valid]),
                   settings.pretrain, settings.lr)
    model = fit(regressor(seed), data.x_train, data.y_train, settings.pretrain, settings.lr)
    train_only = curve_mse(model)
    moved = egl(model, data, settings)
    return {"seed": seed, "curve_mse": {"baseline_train_valid": curve_mse(baseline), "train_only": train_only,
                                        "egl": curve_mse(model)},
            "synthetic_distance": {"before": float((data.y_synth - truth(data.x_synth)).abs().mean()),
                                   "after": float((moved["y_synth"] - truth(moved["x_synth"])).abs().mean())},
            "valid_loss_first_last": [moved["valid_loss"][0], moved["valid_loss"][-1]],
            "_models": {"baseline": baseline, "egl": model}, "_data": data, "_moved": moved}


def plot(result: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d, moved = result["_data"], result["_moved"]
    grid = torch.linspace(-5, 5, 400, dtype=torch.float64)[:, None]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), sharey=True)
    for ax in axes:
        ax.plot(grid, truth(grid), color="green", lw=1.2, label="sin(πx/2)")
        ax.scatter(d.x_train, d.y_train, marker="^", color="blue", label="train", zorder=3)
        ax.scatter(d.x_valid, d.y_valid, marker="^", color="purple", label="valid", zorder=3)
    axes[0].scatter(d.x_synth, d.y_synth, color="red", s=12, label="synthetic (start)")
    with torch.no_grad():
        axes[1].plot(grid, result["_models"]["baseline"](grid), "--", color="orange", label="trained on train ∪ valid")
        axes[2].plot(grid, result["_models"]["egl"](grid), "--", color="orange", label="after EGL")
    axes[2].scatter(moved["x_synth"], moved["y_synth"], color="red", s=12, label="synthetic (moved)")
    for ax, name in zip(axes, ("data", "baseline", "explicit gradient")):
        ax.set_title(name, fontsize=9)
        ax.set_ylim(-2, 2)
        ax.legend(fontsize=6, loc="lower left")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m imbench.figures.egl_sine", description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--iterations", type=int, default=SineSettings.iterations)
    p.add_argument("--pretrain", type=int, default=SineSettings.pretrain)
    p.add_argument("--move", default="xy", choices=MOVES)
    p.add_argument("--results-dir", default="results")
    a = p.parse_args(argv)
    if a.seeds < 1 or a.iterations < 1 or a.pretrain < 1:
        print("imbench.figures.egl_sine: error: --seeds, --iterations and --pretrain must be >= 1", file=sys.stderr)
        return 2
    from imbench import provenance

    settings = SineSettings(iterations=a.iterations, pretrain=a.pretrain, move=a.move)
    results = [run_seed(settings, s) for s in range(a.seeds)]
    default = (a.iterations, a.pretrain, a.move) == (SineSettings.iterations, SineSettings.pretrain, "xy")
    name = "egl_fig1_sine" if default else f"egl_fig1_sine_{a.move}_{a.iterations}it_{a.pretrain}pre"
    out = Path(a.results_dir) / f"{name}.png"
    plot(results[0], out, f"EGL Fig. 1 (seed 0): {settings.iterations} meta steps, η1 {settings.eta1}, "
                          f"η2 {settings.eta2}, move {settings.move}")
    public = [{k: v for k, v in r.items() if not k.startswith("_")} for r in results]
    command = provenance.module_command("imbench.figures.egl_sine", list(sys.argv[1:] if argv is None else argv))
    git, hw = provenance.git_state(), provenance.hardware("cpu")
    record = {"settings": asdict(settings), "seeds": public, "command": command, "git": git, "hardware": hw}
    out.with_suffix(".json").write_text(json.dumps(record, indent=1))

    def stat(get) -> str:
        v = np.array([get(r) for r in public])
        return f"{v.mean():.4f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.4f}"

    wins = sum(r["curve_mse"]["egl"] < r["curve_mse"]["baseline_train_valid"] for r in public)
    lines = [f"# EGL Fig. 1: sine-wave demo ({a.seeds} seeds)", "", f"![EGL Fig. 1]({out.name})", "",
             "| quantity | mean ± std over seeds |", "|---|---|",
             f"| MSE to sin(πx/2) on [−5, 5], trained on train ∪ valid (baseline) | {stat(lambda r: r['curve_mse']['baseline_train_valid'])} |",
             f"| MSE to sin(πx/2), trained on train only | {stat(lambda r: r['curve_mse']['train_only'])} |",
             f"| MSE to sin(πx/2), after EGL | {stat(lambda r: r['curve_mse']['egl'])} |",
             f"| synthetic points' mean \\|y − sin(πx/2)\\|, before | {stat(lambda r: r['synthetic_distance']['before'])} |",
             f"| synthetic points' mean \\|y − sin(πx/2)\\|, after | {stat(lambda r: r['synthetic_distance']['after'])} |",
             "", f"EGL's curve MSE below the baseline's in {wins} of {a.seeds} seeds. Every seed: "
             f"[{out.with_suffix('.json').name}]({out.with_suffix('.json').name}).", "",
             f"Made by: {command}", f"Git commit: {git.get('commit')}{' (dirty)' if git.get('dirty') else ''}",
             f"Hardware: {hw.get('host')} ({hw.get('processor') or 'cpu'})", ""]
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines[4:11]))
    print(f"wrote {out}, {out.with_suffix('.md')} and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
