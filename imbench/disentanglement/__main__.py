"""Command line.

``python -m imbench.disentanglement validate`` prints the FactorVAE metric's scores of reference
representations on dSprites (ground truth, random, one factor dropped, pixel statistics of rendered
images), at disentanglement_lib's defaults unless told otherwise.

``python -m imbench.disentanglement gans --out DIR`` is IMSIC's Fig. 4b: InfoGAN and IMSIC trained on
dSprites with the shape factor skewed, their codes scored against the IR
(:mod:`imbench.disentanglement.gan_sweep`); points resume from DIR, the figure goes to
``imsic_4b_disentanglement_<iterations>it_<side>px.png`` (with a caption and CSV) in ``--results-dir``."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from imbench.disentanglement.validate import ValidationRow, validate
from imbench.errors import ConfigError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m imbench.disentanglement", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="score reference representations on dSprites")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--num-train", type=int, default=10_000)
    v.add_argument("--num-eval", type=int, default=5_000)
    v.add_argument("--batch-size", type=int, default=64)
    v.add_argument("--num-variance-estimate", type=int, default=10_000)
    v.add_argument("--no-images", action="store_true", help="skip the rendered-image case (the slow one)")
    v.add_argument("--out", default=None,
                   help="also write the scores, settings, command, git state and hardware as JSON into this folder")
    g = sub.add_parser("gans", help="IMSIC Fig. 4b: InfoGAN / IMSIC codes scored against the IR")
    g.add_argument("--out", required=True, help="folder of the points (resumed)")
    g.add_argument("--results-dir", default=None, help="folder of the figure (default: --out)")
    g.add_argument("--methods", default="infogan,imsic")
    g.add_argument("--irs", default="50,100,200,300,400,500")
    g.add_argument("--seeds", default="0")
    g.add_argument("--iterations", type=int, default=280, help="GAN mini-batches per training (paper: unstated)")
    g.add_argument("--train-size", type=int, default=20_000, help="skewed images drawn for training")
    g.add_argument("--img-size", type=int, default=64, help="the networks' side: 64 (dSprites) or 32 (4x cheaper)")
    g.add_argument("--device", default="cpu")
    g.add_argument("--imsic-reduction", default="per_sample", choices=["per_sample", "batch_mean"],
                   help="IMSIC's Eq. 6: per sample (spec §9.1, default) or on batch means as written")
    g.add_argument("--metric-num-train", type=int, default=10_000)
    g.add_argument("--metric-num-eval", type=int, default=5_000)
    g.add_argument("--metric-num-variance-estimate", type=int, default=10_000)
    return p


def _print_row(row: ValidationRow) -> None:
    print(f"{row.name:<36} {row.expected:>8} {row.train_accuracy:>8.4f} {row.eval_accuracy:>8.4f} "
          f"{row.seconds:>7.1f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "gans":
        return _gans(args, argv)
    print(f"FactorVAE metric on dSprites: L={args.batch_size}, {args.num_train} train / {args.num_eval} eval "
          f"votes, {args.num_variance_estimate} variance samples, prune std < 0.05, seed {args.seed}")
    print(f"{'representation':<36} {'expected':>8} {'train':>8} {'eval':>8} {'seconds':>7}")
    start = time.perf_counter()
    rows = validate(args.seed, images=not args.no_images, progress=_print_row, batch_size=args.batch_size,
                    num_train=args.num_train, num_eval=args.num_eval,
                    num_variance_estimate=args.num_variance_estimate)
    total = time.perf_counter() - start
    print(f"total {total:.1f} s")
    if args.out:
        print(f"written {_write(args, rows, total)}")
    return 0


def _numbers(text: str, kind: type, what: str) -> list:
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values:
        raise ConfigError(f"--{what} takes comma-separated {kind.__name__} values, e.g. 50,100; got {text!r}")
    return values


def _gans(args: argparse.Namespace, argv: list[str] | None) -> int:
    from imbench import provenance
    from imbench.disentanglement.gan_sweep import SweepSettings, plot_sweep, run_sweep

    try:
        settings = SweepSettings(iterations=args.iterations, train_size=args.train_size, img_size=args.img_size,
                                 device=args.device, imsic_reduction=args.imsic_reduction,
                                 metric_num_train=args.metric_num_train,
                                 metric_num_eval=args.metric_num_eval,
                                 metric_num_variance_estimate=args.metric_num_variance_estimate)
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        irs, seeds = _numbers(args.irs, float, "irs"), _numbers(args.seeds, int, "seeds")
        command = provenance.module_command("imbench.disentanglement", list(sys.argv[1:] if argv is None else argv))
        hw = provenance.hardware(args.device)
        extra = {"command": command, "git": provenance.git_state(), "hardware": hw}
        out = Path(args.out)
        records = run_sweep(methods, irs, seeds, settings, out, extra=extra)
    except ConfigError as e:
        print(f"imbench.disentanglement: error: {e}", file=sys.stderr)
        return 2
    commits = sorted({str((r.get("git") or {}).get("commit")) for r in records})
    hosts = sorted({str((r.get("hardware") or {}).get("host")) for r in records})
    title = (f"IMSIC Fig. 4b: FactorVAE score vs IR on dSprites ({settings.iterations} GAN iterations, "
             f"{settings.img_size}x{settings.img_size}; IMSIC's Eq. 6 {settings.imsic_reduction.replace('_', ' ')})")
    variant = "" if settings.imsic_reduction == "per_sample" or "imsic" not in methods else "_eq6batchmean"
    figure = (Path(args.results_dir or out)
              / f"imsic_4b_disentanglement_{settings.iterations}it_{settings.img_size}px{variant}.png")
    png = plot_sweep(records, figure, title,
                     [f"Made by: {command}", f"Points: {len(records)}", f"Git commit(s): {', '.join(commits)}",
                      f"Hardware: {', '.join(hosts)}"])
    print(f"wrote {png} (+ .md, .csv)")
    return 0


def _write(args: argparse.Namespace, rows: list[ValidationRow], total_s: float) -> Path:
    from imbench import provenance

    settings = {k: v for k, v in vars(args).items() if k not in ("command", "out")}
    record = {"benchmark": "factor_vae_validation", "settings": settings, "total_s": total_s,
              "rows": [dataclasses.asdict(r) for r in rows],
              "command": provenance.module_command("imbench.disentanglement", sys.argv[1:]),
              "hardware": provenance.hardware("cpu"), "git": provenance.git_state(), "versions": provenance.versions()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"factor_vae_validation-{record['hardware']['host']}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(record, indent=1))
    return path


if __name__ == "__main__":
    sys.exit(main())
