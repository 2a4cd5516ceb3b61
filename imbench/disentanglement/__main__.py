"""Command line: ``python -m imbench.disentanglement validate`` prints the FactorVAE metric's
scores of reference representations on dSprites (ground truth, random, one factor dropped, pixel
statistics of rendered images), at disentanglement_lib's defaults unless told otherwise."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from imbench.disentanglement.validate import ValidationRow, validate


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
    return p


def _print_row(row: ValidationRow) -> None:
    print(f"{row.name:<36} {row.expected:>8} {row.train_accuracy:>8.4f} {row.eval_accuracy:>8.4f} "
          f"{row.seconds:>7.1f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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


def _write(args: argparse.Namespace, rows: list[ValidationRow], total_s: float) -> Path:
    from imbench import provenance

    settings = {k: v for k, v in vars(args).items() if k not in ("command", "out")}
    record = {"benchmark": "factor_vae_validation", "settings": settings, "total_s": total_s,
              "rows": [dataclasses.asdict(r) for r in rows],
              "command": "python -m imbench.disentanglement " + " ".join(sys.argv[1:]),
              "hardware": provenance.hardware("cpu"), "git": provenance.git_state(), "versions": provenance.versions()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"factor_vae_validation-{record['hardware']['host']}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(record, indent=1))
    return path


if __name__ == "__main__":
    sys.exit(main())
