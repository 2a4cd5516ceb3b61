"""Convergence curves of one EGL run (EGL App. C): the model's losses and validation AP, and the synthetic points.

    python -m imbench.figures.convergence egl_1 --profile paper [--where ir=100] [--fold 0] [--out-dir D]

Reads the per-epoch curves an EGL record stores (``training.pretrain.curves``, ``training.curves`` and
``training.synthetic.curves``): the training loss and the validation score (AUC-PR of the minority, the
model-selection score) of the pre-training and of the meta phase, the mean validation loss of the meta
steps under the stepped parameters θ', and the mean distance the synthetic points have moved from where
they started. Writes ``<results-dir>/<experiment>_<profile>[_<values>]_egl_convergence.{png,csv,md}``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from imbench.figures import parse_where
from imbench.methods.registry import config_dir
from imbench.tables.collect import UnknownExperiment, available_experiments, collect_records, load_table_spec

PROG = "imbench.figures.convergence"


def convergence_frame(record: dict) -> pd.DataFrame:
    """One row per epoch of both phases: phase, epoch, train_loss, val_score, meta_val_loss, mean_shift.

    Raises
    ------
    KeyError
        The record stores no curves (made before records carried them, or not an EGL run).
    """
    training = record["training"]
    pre, meta, synthetic = training["pretrain"]["curves"], training["curves"], training["synthetic"]["curves"]
    rows = []
    for i, loss in enumerate(pre["train_loss"]):
        rows.append({"phase": "pretrain", "epoch": i + 1, "train_loss": loss,
                     "val_score": pre["val_score"][i] if i < len(pre["val_score"]) else None})
    for i, loss in enumerate(meta["train_loss"]):
        rows.append({"phase": "meta", "epoch": i + 1, "train_loss": loss,
                     "val_score": meta["val_score"][i] if i < len(meta["val_score"]) else None,
                     "meta_val_loss": synthetic["val_loss"][i] if i < len(synthetic["val_loss"]) else None,
                     "mean_shift": synthetic["mean_shift"][i] if i < len(synthetic["mean_shift"]) else None})
    return pd.DataFrame(rows, columns=["phase", "epoch", "train_loss", "val_score", "meta_val_loss", "mean_shift"])


def write_convergence(path: Path, frame: pd.DataFrame, record: dict, title: str, notes: list[str]) -> list[Path]:
    """Four panels (losses, validation score, meta validation loss, synthetic shift); PNG, CSV and caption."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pre, meta = frame[frame["phase"] == "pretrain"], frame[frame["phase"] == "meta"]
    best = record["training"].get("best_epoch")
    best_pre = record["training"]["pretrain"].get("best_epoch")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.6))
    panels = [("train_loss", "training loss (mean per epoch)"), ("val_score", "validation AUC-PR"),
              ("meta_val_loss", "meta-step validation loss under θ'"), ("mean_shift", "mean shift of synthetic points")]
    for ax, (column, label) in zip(axes, panels):
        if column in ("train_loss", "val_score"):
            ax.plot(pre["epoch"], pre[column], label="pre-training", color="tab:gray")
        ax.plot(meta["epoch"], meta[column], label="meta phase (EGL)", color="tab:red")
        if column == "val_score":
            for epoch, color in ((best_pre, "tab:gray"), (best, "tab:red")):
                if epoch:
                    ax.axvline(epoch, color=color, ls=":", lw=1)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    csv = path.with_suffix(".csv")
    frame.to_csv(csv, index=False)
    caption = path.with_suffix(".md")
    lines = [f"# {title}", "", f"![{title}]({path.name})", "",
             f"Dotted lines: the epochs model selection kept (pre-training {best_pre}, meta phase {best}). "
             f"Numbers: [{csv.name}]({csv.name}). Test AUC-PR of the run: {record['metrics']['auc_pr']:.4f}.", "",
             f"- Record: `{record['_path']}`", *(f"- {n}" for n in notes), ""]
    caption.write_text("\n".join(lines))
    return [path, csv, caption]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=f"python -m {PROG}", description=__doc__.split("\n\n")[0])
    p.add_argument("experiment")
    p.add_argument("--profile", default="quick")
    p.add_argument("--method", default="egl")
    p.add_argument("--fold", type=int, default=0)
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="keep runs whose job field KEY equals VALUE (repeatable), e.g. ir=100")
    p.add_argument("--out-dir", default="outputs")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--conf-dir", default=str(config_dir()))
    a = p.parse_args(argv)
    where = parse_where(p, a.where)
    try:
        load_table_spec(a.conf_dir, a.experiment)
    except UnknownExperiment as e:
        print(f"{PROG}: error: {e}. Available experiments: {', '.join(available_experiments(a.conf_dir))}",
              file=sys.stderr)
        return 2
    records = sorted((r for r in collect_records(a.out_dir, [a.experiment], a.profile)
                      if r["job"]["method"] == a.method and int(r["job"]["fold"]) == a.fold
                      and all(str(r["job"].get(k)) == v for k, v in where.items())),
                     key=lambda r: (float(r["job"].get("ir") or 0), r["_path"]))
    with_curves = [r for r in records if "curves" in ((r.get("training") or {}).get("synthetic") or {})]
    if not with_curves:
        found = f"{len(records)} matching run(s), none with stored curves (made before records kept them); " \
                f"redo one with rerun=true" if records else "no matching run"
        print(f"{PROG}: error: {found}: {a.experiment}, method {a.method}, split {a.fold}, profile {a.profile}"
              f"{''.join(f', {k}={v}' for k, v in where.items())}, under {a.out_dir}", file=sys.stderr)
        return 1
    record = with_curves[0]
    job = record["job"]
    made_by = (f"python -m {PROG} {a.experiment} --profile {a.profile} --method {a.method} --fold {a.fold}"
               + "".join(f" --where {k}={v}" for k, v in where.items())
               + ("" if a.out_dir == "outputs" else f" --out-dir {a.out_dir}"))
    hw = record.get("hardware") or {}
    notes = [f"Made by: {made_by}", f"Git commit of the run: {(record.get('git') or {}).get('commit')}",
             f"Hardware: {hw.get('host')} ({hw.get('gpu') or 'cpu'})"]
    imbalance = "own imbalance" if job.get("skew") == "none" or job.get("ir") is None else f"IR {float(job['ir']):g}:1"
    title = (f"EGL convergence, {job['data']} {imbalance}, split {job['fold']}, "
             f"classifier seed {(record.get('seeds') or {}).get('classifier')} (profile {a.profile})")
    suffix = "".join(f"_{v}" for v in where.values())
    files = write_convergence(Path(a.results_dir) / f"{a.experiment}_{a.profile}{suffix}_egl_convergence.png",
                              convergence_frame(record), record, title, notes)
    print("wrote " + ", ".join(map(str, files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
