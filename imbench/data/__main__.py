"""Command line: ``python -m imbench.data {fetch,verify,list}``.

Exit status 0 only when the request succeeded (for fetch/verify: every file present and verified);
1 with the DataError message on stderr otherwise.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imbench.data import fetch as fe
from imbench.data import images as im
from imbench.errors import DataError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m imbench.data", description="Provision and check image datasets.")
    sub = p.add_subparsers(dest="command", required=True)
    root_help = "data root (default: $IMBENCH_DATA, else $XDG_CACHE_HOME/imbench/data)"
    f = sub.add_parser("fetch", help="make a dataset present and verified under the root")
    f.add_argument("name", help=f"one of {', '.join(im.IMAGE_DATASETS)}")
    f.add_argument("--root", help=root_help)
    f.add_argument("--mirror", help=f"local directory in torchvision's layout (default: ${fe.MIRROR_ENV})")
    f.add_argument("--sources", help=f"comma-separated subset of {','.join(fe.SOURCES)} "
                                     f"(default: ${fe.SOURCES_ENV}, else all)")
    v = sub.add_parser("verify", help="check every file of a dataset against its published md5")
    v.add_argument("name")
    v.add_argument("--root", help=root_help)
    ls = sub.add_parser("list", help="list the known datasets and whether their files exist under the root")
    ls.add_argument("--root", help=root_help)
    return p


def _list(root: str | None) -> None:
    base = Path(root).expanduser() if root else im.default_data_root()
    print(f"data root: {base}")
    for name, spec in im.IMAGE_DATASETS.items():
        found = sum(im.find_file(spec, f, base) is not None for f in spec.files)
        shape = "x".join(map(str, spec.shape))
        print(f"{name:8s} {spec.title:14s} {shape:8s} {len(spec.classes)} classes  "
              f"{found}/{len(spec.files)} files present in {spec.dirs(base)[0]}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "fetch":
            sources = args.sources.split(",") if args.sources is not None else None
            fe.fetch(args.name, args.root, args.mirror, sources=sources, log=lambda m: print(m, flush=True))
        elif args.command == "verify":
            for path in fe.verify_dataset(args.name, args.root).values():
                print(f"ok  {path}")
        else:
            _list(args.root)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
