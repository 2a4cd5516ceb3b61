"""IMSIC Fig. 4b: the FactorVAE disentanglement score of InfoGAN's and IMSIC's codes against the IR.

For each method, IR and seed: skew dSprites' shape factor (:func:`imbench.data.dsprites.skew_shapes`, one
shape complete, the other two at 1/IR of it), draw ``train_size`` of those images uniformly (the class
proportions stay those of the skewed set; the full set, 245,760+ images of 64×64, does not fit in memory as
float32), train the method's GAN on them for ``iterations`` mini-batches with the shape as the class label
(the GANs do not see it; it only matters for the code → class matching), and score the representation
"D's latent heads on an image" (the continuous code c′ and the categorical code's probabilities) with
:func:`imbench.disentanglement.factor_vae_score` over all of dSprites.

Choices where the paper is silent (spec §9.8): the skew (spec §2.1 [R]), the code sizes (the methods'
defaults: InfoGAN 2 continuous codes, IMSIC 4 with the released structure; the categorical code has 3
values, one per shape), the networks' image size (``img_size``: 64 keeps dSprites' resolution; 32 halves
both sides, 4× cheaper, the images then resized by the samplers as for MNIST), and what the representation
is (both of D's code heads; the FactorVAE metric prunes dimensions that do not vary).

Each point is written as ``<out>/points/<method>-ir<IR>-seed<S>.json`` as soon as it is done and a rerun
skips the points already there, so a sweep resumes; a point there made with other settings (another budget,
or IMSIC's Eq. 6 read the other way) stops the sweep with a message instead of entering its figure.
"""
from __future__ import annotations

import dataclasses
import json
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from imbench.data.dsprites import DSpritesSampler, render, skew_shapes
from imbench.disentanglement.factor_vae import factor_vae_score
from imbench.errors import ConfigError

METHODS = ("infogan", "imsic")


@dataclass(frozen=True)
class SweepSettings:
    """What every point of a sweep shares."""

    iterations: int = 280
    train_size: int = 20_000
    img_size: int = 64
    keep_shape: int = 0
    batch_size: int = 64
    metric_num_train: int = 10_000
    metric_num_eval: int = 5_000
    metric_num_variance_estimate: int = 10_000
    metric_batch_size: int = 64
    device: str = "cpu"
    imsic_reduction: str = "per_sample"  # IMSIC's Eq. 6 (IMSICSampler's ``reduction``)

    def __post_init__(self) -> None:
        for name in ("iterations", "train_size", "batch_size", "metric_num_train", "metric_num_eval",
                     "metric_num_variance_estimate", "metric_batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1; got {value!r}")
        from imbench.methods.generative.infogan import REDUCTIONS

        if self.imsic_reduction not in REDUCTIONS:
            raise ConfigError(f"imsic_reduction must be one of {list(REDUCTIONS)}; got {self.imsic_reduction!r}")
        if self.img_size not in (32, 64):
            raise ConfigError(f"img_size must be 32 or 64 (the networks' side; dSprites is 64); got {self.img_size!r}")


@dataclass
class SweepPoint:
    """One trained GAN's score."""

    method: str
    ir: float
    seed: int
    train_accuracy: float
    eval_accuracy: float
    active_dims: list[int]
    num_dims: int
    train_counts: dict[str, int]
    matching_accuracy: float | None
    final_losses: dict | None
    train_seconds: float
    score_seconds: float
    settings: dict


def _sampler(method: str, settings: SweepSettings, seed: int, counts: dict[int, int]):
    from imbench.methods.generative.infogan import IMSICSampler, InfoGANSampler

    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r} for the disentanglement sweep; use one of {list(METHODS)}")
    cls, extra = (IMSICSampler, {"reduction": settings.imsic_reduction}) if method == "imsic" else (InfoGANSampler, {})
    rarest = min(counts, key=lambda c: (counts[c], c))
    # a whole epoch of the training subset is more than the budget: one "epoch" of `iterations` batches,
    # then one image of the rarest class (the GAN, not the synthesis, is what is scored)
    return cls(epochs=1, max_batches_per_epoch=settings.iterations, batch_size=settings.batch_size,
               img_size=settings.img_size, device=settings.device, random_state=seed, match_samples=50,
               sampling_strategy={rarest: counts[rarest] + 1}, **extra)


def representation(sampler) -> Callable[[np.ndarray], np.ndarray]:
    """``images (n, 1, 64, 64) in [0, 1]`` → D's continuous code c′ and categorical probabilities."""
    D = sampler.discriminator_.eval()
    device = next(D.parameters()).device

    @torch.no_grad()
    def represent(images: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(images, dtype=torch.float32, device=device) * 2.0 - 1.0
        _, cat, code = D(sampler._to_net(x))
        return torch.cat([code.float(), cat.float()], dim=1).cpu().numpy()

    return represent


def run_point(method: str, ir: float, seed: int, settings: SweepSettings) -> SweepPoint:
    """Train one GAN on the skewed shapes and score its codes."""
    rng = np.random.default_rng(seed)
    skewed = skew_shapes(ir, settings.keep_shape, rng)
    pick = np.sort(rng.choice(len(skewed.labels), size=min(settings.train_size, len(skewed.labels)), replace=False))
    factors, labels = skewed.factors[pick], skewed.labels[pick]
    counts = {int(c): int((labels == c).sum()) for c in np.unique(labels)}
    if len(counts) < 3:
        raise ConfigError(f"ir={ir}: train_size={settings.train_size} leaves a shape without images "
                          f"({counts}); raise train_size or lower ir")
    images = np.concatenate([render(factors[i:i + 4096]) for i in range(0, len(factors), 4096)])
    sampler = _sampler(method, settings, seed, counts)
    torch.manual_seed(seed)
    start = time.perf_counter()
    sampler.fit_resample(images, labels)
    train_s = time.perf_counter() - start
    del images
    start = time.perf_counter()
    score = factor_vae_score(representation(sampler), DSpritesSampler(), np.random.default_rng(seed + 1),
                             batch_size=settings.metric_batch_size, num_train=settings.metric_num_train,
                             num_eval=settings.metric_num_eval,
                             num_variance_estimate=settings.metric_num_variance_estimate)
    info = sampler.fit_info()
    return SweepPoint(method=method, ir=float(ir), seed=int(seed), train_accuracy=score.train_accuracy,
                      eval_accuracy=score.eval_accuracy, active_dims=[int(d) for d in score.active_dims],
                      num_dims=int(len(score.global_variances)), train_counts={str(c): n for c, n in counts.items()},
                      matching_accuracy=(info.get("matching") or {}).get("accuracy"),
                      final_losses=info.get("final_losses"), train_seconds=round(train_s, 2),
                      score_seconds=round(time.perf_counter() - start, 2), settings=dataclasses.asdict(settings))


def point_path(out: Path, method: str, ir: float, seed: int) -> Path:
    return out / "points" / f"{method}-ir{ir:g}-seed{seed}.json"


# settings a point written before they existed ran with: IMSIC's Eq. 6 on batch means was the default then
_EARLIER_DEFAULTS = {"imsic_reduction": "batch_mean"}


def settings_that_matter(settings: dict, method: str) -> dict:
    """A point's settings as they bear on ``method`` (InfoGAN has no Eq. 6), earlier points' gaps filled."""
    full = {**_EARLIER_DEFAULTS, **settings}
    return {k: v for k, v in full.items() if not (method != "imsic" and k == "imsic_reduction")}


def check_resumable(record: dict, method: str, settings: SweepSettings, path: Path) -> None:
    """Raise :class:`ConfigError` when the point at ``path`` was made with other settings than ``settings``."""
    had = settings_that_matter(record.get("settings") or {}, method)
    want = settings_that_matter(dataclasses.asdict(settings), method)
    differ = {k: (had.get(k), want[k]) for k in want if had.get(k) != want[k]}
    if differ:
        raise ConfigError(f"{path} was made with other settings ({', '.join(f'{k}: {a!r} there, {b!r} now' for k, (a, b) in differ.items())}); "
                          "give these settings an --out of their own, or move that point away")


def run_sweep(methods: Sequence[str], irs: Sequence[float], seeds: Sequence[int], settings: SweepSettings,
              out: Path, extra: dict | None = None, log: Callable[[str], None] = print) -> list[dict]:
    """Every (method, IR, seed) point not yet under ``out``; returns all points' records there."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"unknown method(s) {unknown} for the disentanglement sweep; use {list(METHODS)}")
    records = []
    for ir in irs:
        for method in methods:
            for seed in seeds:
                path = point_path(out, method, ir, seed)
                if path.is_file():
                    record = json.loads(path.read_text())
                    check_resumable(record, method, settings, path)
                    records.append(record)
                    continue
                point = run_point(method, ir, seed, settings)
                record = {**dataclasses.asdict(point), **(extra or {})}
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(record, indent=1))
                tmp.replace(path)  # a point is there whole or not at all
                log(f"{method:8s} IR {ir:>5g} seed {seed}: FactorVAE score {point.eval_accuracy:.3f} "
                    f"(train {point.train_accuracy:.3f}), GAN {point.train_seconds:.0f} s, metric {point.score_seconds:.0f} s")
                records.append(record)
    return records


def plot_sweep(records: Sequence[dict], path: Path, title: str, provenance: Sequence[str]) -> Path:
    """Score (eval accuracy) against IR, mean ± std over seeds, one line per method; PNG and a caption."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    import pandas as pd

    df = pd.DataFrame(records)
    summary = df.groupby(["method", "ir"]).agg(score=("eval_accuracy", "mean"), std=("eval_accuracy", "std"),
                                               seeds=("seed", "count")).reset_index()
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    labels = {"infogan": "InfoGAN", "imsic": "IMSIC"}
    for method, part in summary.groupby("method"):
        ax.errorbar(part["ir"], part["score"], yerr=part["std"].fillna(0.0), marker="o", capsize=3,
                    label=labels.get(method, method))
    ax.set_xscale("log")
    irs = sorted(summary["ir"].unique())
    ax.set_xticks(irs)
    ax.set_xticklabels([f"{ir:g}" for ir in irs])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # no "6×10¹" labels between the IRs
    ax.axhline(0.2, color="grey", lw=0.8, ls=":", label="chance (5 factors)")
    ax.set_ylim(0, 1)
    ax.set_xlabel("imbalance ratio of the shape factor")
    ax.set_ylabel("FactorVAE score")
    ax.legend(fontsize=8)
    ax.set_title("\n".join(textwrap.wrap(title, 60)), fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    summary.to_csv(path.with_suffix(".csv"), index=False)
    lines = [f"# {title}", "", f"![{title}]({path.name})", "",
             "Points: mean FactorVAE score (evaluation votes) over seeds; error bars: std (ddof 1); dotted: "
             "chance for 5 factors. Numbers: " f"[{path.with_suffix('.csv').name}]({path.with_suffix('.csv').name}).",
             "", "| method | IR | score | std | seeds |", "|---|---|---|---|---|"]
    lines += [f"| {labels.get(r.method, r.method)} | {r.ir:g} | {r.score:.3f} | "
              f"{'' if np.isnan(r.std) else f'{r.std:.3f}'} | {r.seeds} |" for r in summary.itertuples()]
    lines += ["", *provenance, ""]
    path.with_suffix(".md").write_text("\n".join(lines))
    return path
