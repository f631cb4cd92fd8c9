"""``dlscope`` command line: list | run | verify | data.

    dlscope list
    dlscope run PRESET [--set key=value ...] [--quick] [--device cpu|cuda] [--out DIR]
    dlscope verify OUT
    dlscope data fetch NAME [--root DIR] [--mirror URL] [--format binary|python|npz] [--deadline S] [--min-rate B]
    dlscope data list [--root DIR]

Exit codes: 0 done; 1 the run finished but is not trustworthy (diverged runs: claims not evaluable)
or could not finish (disk full), or ``verify`` found damage; 2 a user error (bad value, bad
``--out``, missing data, another process holds ``--out``), reported in one line with nothing
written; 130 interrupted (the same command resumes).

Heavy imports (torch, the presets) happen inside the commands, so ``dlscope --help`` is instant.
Before torch is imported, ``OMP_WAIT_POLICY`` is set to ``PASSIVE`` unless the user set it: with
the default, OpenMP threads spin-wait and a small training loop slows ~50× when another process
is busy on the same cores (measured: bench/threads.py).
"""
from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path

from ._version import __version__

ENV_HELP = """environment:
  DLSCOPE_THREADS=N   torch threads (keep threads × concurrent jobs ≤ cores)
  DLSCOPE_DATA=DIR    folder holding mnist/, fashion-mnist/, cifar10/ (default ~/.cache/dlscope)
  DLSCOPE_PROGRESS=1  progress lines even when stderr is not a terminal
  OMP_WAIT_POLICY     set to PASSIVE by dlscope unless you set it"""


def _error(msg: str) -> int:
    print(f"dlscope: error: {msg}", file=sys.stderr)
    return 2


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
    from .experiments import discover

    presets = discover()
    for name in sorted(presets):
        p = presets[name]
        print(f"{name:34s} {p.title}  [claims: {'; '.join(p.claim_lines())}]")
    return 0


def cmd_run(args) -> int:
    import torch

    from .data import DataFormatError, MissingDataError
    from .experiments import ConfigError, DivergedError, get, make_config, parse_overrides, run_preset
    from .experiments.claims import count_held

    try:
        preset = get(args.preset)
        overrides = parse_overrides(preset.Config, args.set or [])
        if args.device:
            overrides["device"] = args.device
        if str(overrides.get("device", "cpu")).startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError("--device cuda asked for, but torch sees no CUDA device here")
        make_config(preset, overrides, args.quick)  # validate before writing
    except ConfigError as e:
        return _error(str(e))
    out = Path(args.out or Path("runs") / (args.preset + ("-quick" if args.quick else "")))
    update, close = _progress()
    notify = lambda line: print(f"dlscope: note: {line}", file=sys.stderr)  # noqa: E731
    try:
        summary = run_preset(args.preset, overrides=overrides, quick=args.quick, out=out, progress=update,
                             notify=notify)
    except (ConfigError, MissingDataError, DataFormatError) as e:
        return _error(str(e))
    except DivergedError as e:
        print(f"dlscope: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        print(f"dlscope: error: no space left on the device of {out} ({e.filename or 'a write'}); free space and "
              "run the same command again to resume", file=sys.stderr)
        return 1
    finally:
        close()
    claims = summary.get("claims", [])
    for c in claims:
        tag = c.get("status", "held" if c.get("held") else "not held").upper()
        kind = " (control)" if c.get("kind") == "control" else ""
        print(f"[{tag}]{kind} {c['claim']}")
    held, evaluable, total = count_held(claims)
    print(f"claims held: {held}/{total}" + (f" ({total - evaluable} not evaluable)" if evaluable < total else ""))
    print(f"report: {out / 'report.html'}  (also {out / 'report.md'}, summary {out / 'summary.json'})")
    if summary.get("diverged"):
        print(f"dlscope: runs diverged, claims not evaluable: {'; '.join(summary['diverged'])}", file=sys.stderr)
        return 1
    return 0


def cmd_verify(args) -> int:
    from .experiments.verify import verify_tree

    root = Path(args.out)
    if not root.is_dir():
        return _error(f"{root} is not a directory")
    findings = verify_tree(root)
    if not findings:
        return _error(f"{root} holds no dlscope run (no config.json, summary.json, checkpoint or metrics)")
    for f in findings:
        tag = "note" if f.note else ("ok" if f.ok else "DAMAGED")
        print(f"{tag:8s}{f.path.relative_to(root) if f.path != root else '.'}: {f.what}")
    bad = [f for f in findings if not f.ok]
    files = {f.path for f in findings if not f.note}
    print(f"{len(files) - len({f.path for f in bad})} of {len(files)} files intact" +
          (f"; {len({f.path for f in bad})} damaged (rerunning the same command re-derives them)" if bad else ""))
    return 1 if bad else 0


def cmd_data(args) -> int:
    from .data import NAMES, SOURCES, ChecksumError, DataFormatError, DownloadError, default_root, fetch

    if args.data_cmd == "list":
        root = Path(args.root) if args.root else default_root()
        for n in NAMES:
            where = "embedded/synthetic" if n not in SOURCES else (
                "present" if (root / n).is_dir() and any((root / n).iterdir()) else "missing")
            print(f"{n:18s} {where:20s} {root / n if n in SOURCES else ''}")
        return 0
    try:
        paths = fetch(args.name, root=args.root, mirror=args.mirror, fmt=args.format, deadline=args.deadline,
                      min_rate=args.min_rate)
    except (KeyError, DownloadError, ChecksumError, DataFormatError) as e:
        print(f"dlscope: error: {str(e).strip(chr(34) + chr(39))}", file=sys.stderr)
        return 1
    for p in paths:
        print(p)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="dlscope", description="A laboratory for the theory of deep learning.",
                                 epilog=ENV_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"dlscope {__version__}")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list presets and the claims they check")
    r = sub.add_parser("run", help="run a preset (resumes an interrupted run in --out)", epilog=ENV_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("preset", help="preset name (see: dlscope list)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
    r.add_argument("--quick", action="store_true", help="small, < 60 s CPU version of the preset")
    r.add_argument("--device", choices=["cpu", "cuda"], default=None, help="device (default: the preset's, cpu)")
    r.add_argument("--out", default=None, help="run directory (default runs/PRESET[-quick])")
    v = sub.add_parser("verify", help="check every file of a run, preset or sweep directory (exit 1 if damaged)")
    v.add_argument("out", help="the directory to check (a --out of dlscope run, or a folder holding several)")
    d = sub.add_parser("data", help="datasets: fetch | list")
    dsub = d.add_subparsers(dest="data_cmd", required=True)
    f = dsub.add_parser("fetch", help="download a dataset's canonical files, verified")
    f.add_argument("name", help="mnist | fashion-mnist | cifar10")
    f.add_argument("--root", default=None, help="data folder (default $DLSCOPE_DATA or ~/.cache/dlscope)")
    f.add_argument("--mirror", default=None, help="base URL serving the same file names")
    f.add_argument("--format", default=None, help="cifar10: binary (default), python, or npz (mirror only)")
    f.add_argument("--deadline", type=float, default=None, metavar="SECONDS",
                   help="give up a file after this long (default: 60 s + size / min-rate)")
    f.add_argument("--min-rate", type=float, default=50e3, metavar="BYTES_PER_S",
                   help="drop a server slower than this, averaged over 30 s (default 50000)")
    ls = dsub.add_parser("list", help="which datasets are present")
    ls.add_argument("--root", default=None, help="data folder (default $DLSCOPE_DATA or ~/.cache/dlscope)")
    return ap


def configure_threads() -> str | None:
    """OMP_WAIT_POLICY=PASSIVE unless set; DLSCOPE_THREADS applied. Returns an error message or None."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    raw = os.environ.get("DLSCOPE_THREADS")
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            return f"DLSCOPE_THREADS must be a positive integer, got {raw!r}"
        import torch

        torch.set_num_threads(int(raw))
    return None


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    err = configure_threads()
    if err:
        return _error(err)
    try:
        return {"list": cmd_list, "run": cmd_run, "verify": cmd_verify, "data": cmd_data}[args.cmd](args)
    except KeyboardInterrupt:
        where = f" from {args.out or Path('runs') / (args.preset + ('-quick' if args.quick else ''))}" \
            if args.cmd == "run" else ""
        nl = "\n" if sys.stderr.isatty() else ""  # end a progress bar's line, where one is drawn
        print(f"{nl}dlscope: interrupted; run the same command again to resume{where}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
