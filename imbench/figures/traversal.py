"""Latent traversals of InfoGAN / IMSIC (IMSIC Fig. 4d/e): what each continuous code changes.

    python -m imbench.figures.traversal [--method imsic] [--data mnist] [--iterations 280] [--seed 0]
                                        [--values -2,-1,0,1,2] [--structure '0:0;1:1;2:2;3:1,2']
                                        [--results-dir results] [--device cpu]

Trains the method's GAN on the data set's official training images skewed to GAMO's counts (IMSIC
Table 1's data, the first draw of seed ``--seed``) for ``--iterations`` mini-batches, matches its
categorical codes to classes as every run does, then draws one panel per continuous code c_k: row = class
(its matched categorical code), column = a value of c_k, every other continuous code 0 and the same z in a
row. For IMSIC the caption names the structure (which latent codes are entangled with which), so the
panels of an entangled code (the released structure's c′_3, spec §3.2: the Fig. 4c type) can be read
against those of its parents. Writes ``<results-dir>/imsic_traversal_<method>_<data>_<iterations>it.png``
and a ``.md`` caption with the command, training losses, matching accuracy, commit and hardware.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from imbench.errors import ConfigError, ImbenchError

GAMO_COUNTS = (4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40)


@dataclass(frozen=True)
class Traversal:
    """Images of one code's traversal: ``images[row, column]`` (H×W, in [0, 1]) for ``classes[row]`` and
    ``values[column]``."""

    code: int
    values: list[float]
    classes: list[int]
    images: np.ndarray


@torch.no_grad()
def traverse(sampler, code: int, values: Sequence[float], seed: int = 0) -> Traversal:
    """Generate the traversal of continuous code ``code`` of a fitted InfoGAN/IMSIC sampler."""
    d = int(sampler.code_dim)
    if not 0 <= code < d:
        raise ConfigError(f"code {code} does not exist: the sampler has {d} continuous codes (0..{d - 1})")
    G = sampler.generator_.eval()
    device = next(G.parameters()).device
    classes = [int(c) for c in sampler.classes_]
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(len(classes), int(sampler.latent_dim), generator=gen).to(device)
    k = sampler.n_categories_
    rows = []
    for r, c in enumerate(classes):
        onehot = torch.zeros(len(values), k, device=device)
        onehot[:, sampler.class_to_code_[r]] = 1.0
        codes = torch.zeros(len(values), d, device=device)
        codes[:, code] = torch.as_tensor(list(values), dtype=torch.float32, device=device)
        imgs = G(z[r:r + 1].expand(len(values), -1), onehot, codes)
        rows.append(((imgs[:, 0].float() + 1) / 2).clamp(0, 1).cpu().numpy())
    return Traversal(code=code, values=[float(v) for v in values], classes=classes, images=np.stack(rows))


def write_traversals(path: Path, panels: Sequence[Traversal], title: str, lines: Sequence[str]) -> Path:
    """One panel per code side by side; a caption beside the PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_rows, widest = panels[0].images.shape[0], max(p.images.shape[1] for p in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(1.0 + 0.55 * widest * len(panels), 0.6 + 0.55 * n_rows),
                             squeeze=False)
    for ax, p in zip(axes[0], panels):
        n_cols, (h, w) = p.images.shape[1], p.images.shape[2:]
        mosaic = p.images.transpose(0, 2, 1, 3).reshape(n_rows * h, n_cols * w)
        ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([w * (j + 0.5) for j in range(n_cols)])
        ax.set_xticklabels([f"{v:g}" for v in p.values], fontsize=6)
        ax.set_yticks([h * (i + 0.5) for i in range(n_rows)])
        ax.set_yticklabels([str(c) for c in p.classes], fontsize=6)
        ax.set_title(f"c{p.code} varied", fontsize=8)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    caption = path.with_suffix(".md")
    caption.write_text("\n".join([f"# {title}", "", f"![{title}]({path.name})", "", *lines, ""]))
    return path


def training_set(data: str, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """The first skewed draw of IMSIC Table 1's data (GAMO's counts, without replacement)."""
    from imbench.data.datasets import load_dataset
    from imbench.data.skew import skew_indices

    ds = load_dataset({"kind": "image", "dataset": data})
    wanted = dict(enumerate(GAMO_COUNTS))
    idx = skew_indices(ds.y_train, wanted, np.random.default_rng(seed))
    return ds.X_train[idx], ds.y_train[idx], ds.provenance


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m imbench.figures.traversal", description=__doc__.split("\n\n")[0])
    p.add_argument("--method", default="imsic", choices=["imsic", "infogan"])
    p.add_argument("--data", default="mnist", choices=["mnist", "fmnist"])
    p.add_argument("--iterations", type=int, default=280)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--values", default="-2,-1,0,1,2")
    p.add_argument("--codes", default=None, help="comma-separated code indices (default: all)")
    p.add_argument("--structure", default=None,
                   help="IMSIC's latent code -> parent codes, e.g. '0:0;1:1;2:2;3:1,2' (the paper's Fig. 4c: c'_3 "
                        "entangled with c_1 and c_2); default: the released structure (c'_3 with every code)")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    from imbench import provenance
    from imbench.methods.generative.infogan import IMSICSampler, InfoGANSampler

    try:
        values = [float(v) for v in a.values.split(",") if v.strip()]
        if not values or a.iterations < 1:
            raise ValueError
    except ValueError:
        print("imbench.figures.traversal: error: --values takes comma-separated numbers and --iterations an "
              f"integer >= 1; got --values {a.values!r} --iterations {a.iterations}", file=sys.stderr)
        return 2
    try:
        cls = IMSICSampler if a.method == "imsic" else InfoGANSampler
        kwargs = {"code_dim": 3, "structure": None} if (a.method == "imsic" and a.data == "fmnist") else {}
        if a.structure is not None:
            if a.method != "imsic":
                raise ValueError("--structure is IMSIC's (InfoGAN's codes have no parents); drop it or use --method imsic")
            kwargs["structure"] = parse_structure(a.structure)
        X, y, source = training_set(a.data, a.seed)
        rarest = int(min(set(y.tolist()), key=lambda c: ((y == c).sum(), c)))
        sampler = cls(epochs=1, max_batches_per_epoch=a.iterations, device=a.device, random_state=a.seed,
                      sampling_strategy={rarest: int((y == rarest).sum()) + 1}, **kwargs)
        start = time.perf_counter()
        sampler.fit_resample(X, y)
        train_s = time.perf_counter() - start
        codes = (list(range(int(sampler.code_dim))) if a.codes is None
                 else [int(c) for c in a.codes.split(",") if c.strip()])
        panels = [traverse(sampler, c, values, seed=a.seed) for c in codes]
    except (ImbenchError, ValueError) as e:
        print(f"imbench.figures.traversal: error: {e}", file=sys.stderr)
        return 2
    info = sampler.fit_info()
    command = provenance.module_command("imbench.figures.traversal", list(sys.argv[1:] if argv is None else argv))
    hw, git = provenance.hardware(a.device), provenance.git_state()
    structure = info.get("structure")
    title = (f"{info['method']} traversals, {a.data}, {a.iterations} GAN iterations"
             + (f", structure {structure}, Eq. 6 {info['structure_reduction'].replace('_', ' ')}" if structure else ""))
    lines = [f"Rows: classes (their matched categorical code); columns: the varied code's value; other codes 0; "
             f"one z per row. Training: {source}, GAMO's counts, first draw of seed {a.seed}, "
             f"{a.iterations} mini-batches of 64 ({train_s:.0f} s).",
             f"Code→class matching accuracy: {info['matching']['accuracy']:.3f}; final losses: {info.get('final_losses')}.",
             f"Made by: {command}", f"Git commit: {git.get('commit')}{' (dirty)' if git.get('dirty') else ''}",
             f"Hardware: {hw.get('host')} ({hw.get('gpu') or hw.get('processor') or 'cpu'})"]
    tag = "" if a.structure is None else "_structure-" + "_".join(
        f"{i}-{''.join(map(str, ps))}" for i, ps in sorted(kwargs["structure"].items()))
    path = Path(a.results_dir) / f"imsic_traversal_{a.method}_{a.data}_{a.iterations}it{tag}.png"
    write_traversals(path, panels, title, lines)
    print(f"wrote {path} and {path.with_suffix('.md')}")
    return 0


def parse_structure(text: str) -> dict[int, list[int]]:
    """``'0:0;1:1;2:2;3:1,2'`` → ``{0: [0], 1: [1], 2: [2], 3: [1, 2]}`` (the sampler checks it against
    ``code_dim``)."""
    out: dict[int, list[int]] = {}
    try:
        for part in filter(None, (q.strip() for q in text.split(";"))):
            latent, parents = part.split(":")
            out[int(latent)] = [int(v) for v in parents.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--structure takes 'latent:parent,parent;...' with code indices, e.g. '0:0;1:1;2:2;3:1,2'; "
                         f"got {text!r}") from None
    if not out:
        raise ValueError(f"--structure names no latent code: {text!r}")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
