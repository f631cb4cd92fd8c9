"""``dlscope`` command line: list | run | data.

    dlscope list
    dlscope run PRESET [--set key=value ...] [--quick] [--device cpu|cuda] [--out DIR]
    dlscope data fetch NAME [--root DIR] [--mirror URL] [--format npz]
    dlscope data list [--root DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _progress():
    from tqdm import tqdm

    state = {"name": None, "bar": None}

    def update(name: str, done: int, total: int):
        if state["name"] != name:
            if state["bar"] is not None:
                state["bar"].close()
            state["bar"] = tqdm(total=total, desc=name, unit="step", leave=False, file=sys.stderr,
                                disable=not sys.stderr.isatty() and os.environ.get("DLSCOPE_PROGRESS") != "1")
            state["name"] = name
        bar = state["bar"]
        bar.update(done - bar.n)

    def close():
        if state["bar"] is not None:
            state["bar"].close()

    return update, close


def cmd_list(args) -> int:
    from .experiments import PRESETS

    for name in sorted(PRESETS):
        p = PRESETS[name]
        print(f"{name:34s} {p.title}  [claims: {'; '.join(p.claims)}]")
    return 0


def cmd_run(args) -> int:
    import torch

    from .experiments import ConfigError, get, parse_overrides, run_preset

    try:
        preset = get(args.preset)
        overrides = parse_overrides(preset.Config, args.set or [])
        if args.device:
            overrides["device"] = args.device
        if overrides.get("device", "cpu").startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError("--device cuda asked for, but torch sees no CUDA device here")
        preset.Config(**{**(preset.quick if args.quick else {}), **overrides})  # validate before writing
    except (ConfigError, TypeError, ValueError) as e:
        print(f"dlscope: error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out or Path("runs") / (args.preset + ("-quick" if args.quick else "")))
    update, close = _progress()
    try:
        summary = run_preset(args.preset, overrides=overrides, quick=args.quick, out=out, progress=update)
    except ConfigError as e:
        print(f"dlscope: error: {e}", file=sys.stderr)
        return 2
    finally:
        close()
    claims = summary.get("claims", [])
    for c in claims:
        print(f"[{'held' if c['held'] else 'NOT HELD'}] {c['claim']} — measured {c['measured']}")
    print(f"claims held: {sum(c['held'] for c in claims)}/{len(claims)}")
    print(f"report: {out / 'report.html'}  (also {out / 'report.md'}, summary {out / 'summary.json'})")
    return 0


def cmd_data(args) -> int:
    from .data import NAMES, SOURCES, ChecksumError, DownloadError, default_root, fetch

    if args.data_cmd == "list":
        root = Path(args.root) if args.root else default_root()
        for n in NAMES:
            where = "embedded/synthetic" if n not in SOURCES else (
                "present" if (root / n).is_dir() and any((root / n).iterdir()) else "missing")
            print(f"{n:18s} {where:20s} {root / n if n in SOURCES else ''}")
        return 0
    try:
        paths = fetch(args.name, root=args.root, mirror=args.mirror, fmt=args.format)
    except (KeyError, DownloadError, ChecksumError) as e:
        print(f"dlscope: error: {e}", file=sys.stderr)
        return 1
    for p in paths:
        print(p)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="dlscope", description="A laboratory for the theory of deep learning.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list presets and the claims they check")
    r = sub.add_parser("run", help="run a preset (resumes an interrupted run in --out)")
    r.add_argument("preset")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
    r.add_argument("--quick", action="store_true", help="small, < 60 s CPU version of the preset")
    r.add_argument("--device", choices=["cpu", "cuda"], default=None)
    r.add_argument("--out", default=None, help="run directory (default runs/PRESET[-quick])")
    d = sub.add_parser("data", help="datasets: fetch | list")
    dsub = d.add_subparsers(dest="data_cmd", required=True)
    f = dsub.add_parser("fetch", help="download a dataset's canonical files, verified")
    f.add_argument("name")
    f.add_argument("--root", default=None)
    f.add_argument("--mirror", default=None, help="base URL serving the same file names")
    f.add_argument("--format", default=None, help="cifar10: python (default) or npz (mirror only)")
    ls = dsub.add_parser("list", help="which datasets are present")
    ls.add_argument("--root", default=None)
    args = ap.parse_args(argv)
    torch_threads = os.environ.get("DLSCOPE_THREADS")
    if torch_threads:
        import torch

        torch.set_num_threads(int(torch_threads))
    return {"list": cmd_list, "run": cmd_run, "data": cmd_data}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
