"""The body of ``dlscope export`` (arguments: :mod:`dlscope.sweep.cli_args`); command-line code that prints."""
from __future__ import annotations

import sys

from . import ExportError, exporter

__all__ = ["main"]


def main(args) -> int:
    try:
        export = exporter(args.to)
    except ImportError as e:
        print(f"dlscope: error: --to {args.to} needs {e.name or args.to}: pip install 'dlscope[{args.to}]'",
              file=sys.stderr)
        return 2
    try:
        kw = {"project": args.project} if args.to == "wandb" else {}
        out, n = export(args.path, args.out, **kw)
    except ExportError as e:
        print(f"dlscope: error: {e}", file=sys.stderr)
        return 2
    print(f"exported {n} training run(s) to {out}")
    print(f"view: tensorboard --logdir {out}" if args.to == "tensorboard" else f"upload: wandb sync {out}/offline-run-*")
    return 0
