"""``dlscope`` command line: list | run | measure | verify | data | sweep | table | report | export.

    dlscope list
    dlscope run PRESET [--set key=value ...] [--quick] [--device cpu|cuda] [--out DIR]
    dlscope run PRESET --help                      # the preset's keys, defaults and comments
    dlscope measure (RUN_DIR | --model MODULE:CLASS [--model-arg k=v] [--weights FILE] --data NAME|FILE.npz)
                    [--what LIST] [--per-layer] [--n N] [--loss ce|mse] [--out DIR]
    dlscope verify OUT
    dlscope data fetch NAME [--root DIR] [--mirror URL] [--format binary|python|npz] [--deadline S] [--min-rate B]
    dlscope data list [--root DIR]
    dlscope sweep PRESET [--grid K=V1,V2 ...] [--seeds N] [--executor local|ray|slurm]; table|report|export (-h)

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
import dataclasses
import hashlib
import json
import errno
import os
import sys
from importlib import import_module
from pathlib import Path

from ._version import __version__
from .sweep.cli_args import add_parsers as add_sweep_parsers  # argparse only: --help stays instant

ENV_HELP = """environment:
  DLSCOPE_THREADS=N   torch threads (keep threads × concurrent jobs ≤ cores)
  DLSCOPE_DATA=DIR    folder holding mnist/, fashion-mnist/, cifar10/ (default ~/.cache/dlscope)
  DLSCOPE_PROGRESS=   bar | lines | 0 (default: a bar on a terminal, one line per sub-run otherwise)
  OMP_WAIT_POLICY     set to PASSIVE by dlscope unless you set it"""


def _error(msg: str) -> int:
    print(f"dlscope: error: {msg}", file=sys.stderr)
    return 2


def progress_mode() -> str:
    mode = os.environ.get("DLSCOPE_PROGRESS", "").strip().lower()
    if mode in ("0", "off", "none", "no", "false"):
        return "off"
    if mode in ("1", "bar", "lines"):
        return "lines" if mode == "lines" else "bar"
    return "bar" if sys.stderr.isatty() else "lines"


def planned_subruns(name: str, config) -> int | None:
    """How many nets preset ``name`` trains with ``config`` (None when unknown)."""
    from .experiments import get

    return get(name).subruns(config) if get(name).subruns else None


def _progress(out: Path | None = None, total: int | None = None):
    """(update, close): :class:`~dlscope.experiments.progress.RunProgress` on stderr, as DLSCOPE_PROGRESS says."""
    from .experiments.progress import RunProgress

    reporter = RunProgress(sys.stderr, progress_mode(), Path(out) / "runs" if out is not None else None, total)
    return reporter.update, reporter.close


def default_out(preset, config, quick: bool) -> Path:
    """runs/PRESET[-quick][-HASH]: HASH (8 hex digits) digests the keys that differ from the preset's
    (quick) defaults, so a different configuration never lands in the folder of another."""
    from .experiments import make_config

    base = dataclasses.asdict(make_config(preset, {}, quick))
    diff = {k: v for k, v in dataclasses.asdict(config).items() if base.get(k) != v}
    name = preset.name + ("-quick" if quick else "")
    if diff:
        name += "-" + hashlib.sha256(json.dumps(diff, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return Path("runs") / name


class _RunHelp(argparse.Action):
    """``-h`` of ``dlscope run``: after PRESET it also lists the preset's keys with defaults and comments."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        parser.print_help()
        name = getattr(namespace, "preset", None)
        if name:
            from .experiments import ConfigError, get
            from .experiments.describe import describe_keys

            try:
                print("\n" + describe_keys(get(name)))
            except ConfigError as e:
                print(f"\n{e}")
        parser.exit()


def cmd_list(args) -> int:
    from .experiments import discover

    for name, p in sorted(discover().items()):
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
        config = make_config(preset, overrides, args.quick)  # validate before writing
    except ConfigError as e:
        return _error(str(e))
    out = Path(args.out or default_out(preset, config, args.quick))
    update, close = _progress(out, planned_subruns(args.preset, config))
    args.resolved_out = out
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
        print(f"[{tag}]{' (control)' if c.get('kind') == 'control' else ''} {c['claim']}")
    held, evaluable, total = count_held(claims)
    print(f"claims held: {held}/{total}" + (f" ({total - evaluable} not evaluable)" if evaluable < total else ""))
    print(f"report: {out / 'report.html'}  (also {out / 'report.md'}, summary {out / 'summary.json'})")
    if summary.get("diverged"):
        print(f"dlscope: runs diverged, claims not evaluable: {'; '.join(summary['diverged'])}", file=sys.stderr)
        return 1
    return 0


# The names of dlscope.assess.WHAT (kept here so that --help imports nothing heavy; a test keeps them equal).
MEASURES = ("margins", "spectral", "bounds", "hessian-top", "trace", "density", "slice2d", "pacbayes", "weights")
DEFAULT_MEASURES = "margins,spectral,bounds,hessian-top,trace,weights"


def cmd_measure(args) -> int:
    from .assess import AssessError, assess, default_out, parse_options, parse_what, prepare, summary_lines
    from .data import DataFormatError, MissingDataError

    quiet = progress_mode() == "off"

    def progress(what, i, total):
        if not quiet and i < total:
            print(f"measure {i + 1}/{total} {what}", file=sys.stderr, flush=True)

    try:
        what, options = parse_what(args.what), parse_options(args.option)
        model, inputs, source = prepare(run_dir=args.run_dir, model=args.model, model_args=args.model_arg,
                                        weights=args.weights, data=args.data, split=args.split, n=args.n,
                                        seed=args.seed, data_root=args.data_root)
        out = Path(args.out) if args.out else default_out({k: v for k, v in vars(args).items() if k != "out"})
        summary = assess(model, inputs, what=what, out=out, per_layer=args.per_layer, loss=args.loss, seed=args.seed,
                         options=options, source=source, device=args.device, progress=progress)
    except (AssessError, MissingDataError, DataFormatError) as e:
        return _error(str(e))
    except OSError as e:  # --out not writable, disk full
        return _error(f"cannot write the report: {e.strerror or e} ({e.filename or ''})")
    except KeyboardInterrupt:
        print("\ndlscope: interrupted; nothing was finished (run the same command again)", file=sys.stderr)
        return 130
    print("\n".join(summary_lines(summary)))
    print(f"report: {out / 'report.html'}  (also {out / 'report.md'}, summary {out / 'summary.json'})")
    return 1 if any(e["status"] == "failed" for e in summary["measures"]) else 0


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
                       formatter_class=argparse.RawDescriptionHelpFormatter, add_help=False)
    r.add_argument("-h", "--help", action=_RunHelp, help="show this help; after PRESET also the preset's keys")
    r.add_argument("preset", help="preset name (see: dlscope list)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
    r.add_argument("--quick", action="store_true", help="small, < 60 s CPU version of the preset")
    r.add_argument("--device", choices=["cpu", "cuda"], default=None, help="device (default: the preset's, cpu)")
    r.add_argument("--out", default=None, help="run directory (default runs/PRESET[-quick][-HASH], HASH digesting "
                                               "the keys that differ from the defaults)")
    m = sub.add_parser("measure", help="measure a trained net: yours (--model) or one dlscope trained (RUN_DIR)",
                       epilog=ENV_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    m.add_argument("run_dir", nargs="?", metavar="RUN_DIR",
                   help="a training run folder dlscope wrote (runs/PRESET/runs/NAME; a preset folder with one net)")
    m.add_argument("--model", metavar="MODULE:CLASS",
                   help="your model: mypkg.nets:ResNet18 (importable from here) or path/to/nets.py:ResNet18")
    m.add_argument("--model-arg", action="append", metavar="KEY=VALUE",
                   help="keyword argument of the model's constructor, a Python literal or a word (repeatable)")
    m.add_argument("--weights", metavar="FILE", help=".safetensors, or a torch checkpoint (read with "
                                                     "weights_only=True: a pickle of custom classes is refused)")
    m.add_argument("--data", metavar="NAME|FILE.npz", help="a dataset name (mnist1d, mnist, cifar10, …) or a .npz "
                                                           "with arrays x, y (default with RUN_DIR: the run's data)")
    m.add_argument("--data-root", default=None, help="folder holding the dataset files (default $DLSCOPE_DATA)")
    m.add_argument("--split", choices=["train", "test"], default="train", help="which split (default train)")
    m.add_argument("--n", type=int, default=2000, help="examples, a seeded class-stratified subset (default 2000)")
    m.add_argument("--what", default=DEFAULT_MEASURES, metavar="LIST",
                   help=f"comma-separated, or all: {', '.join(MEASURES)} (default {DEFAULT_MEASURES})")
    m.add_argument("--per-layer", action="store_true",
                   help="also each layer's Hessian block (top eigenvalue, trace) and norms, table and bars")
    m.add_argument("--loss", choices=["ce", "mse"], default="ce", help="loss for curvature and slices (default ce)")
    m.add_argument("--seed", type=int, default=0, help="seeds the subset, the probes and the directions (default 0)")
    m.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="cost knobs: top_k, trace_matvecs, density_steps, density_probes, slice_steps, slice_span, "
                        "pacbayes_samples, layer_trace_matvecs, lanczos_tol, dense_block")
    m.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    m.add_argument("--out", default=None, help="report folder (default measurements/NET-HASH of these arguments)")
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
    add_sweep_parsers(sub, ENV_HELP)  # sweep | table | report | export: each sets args.handler, the module to run
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
        return ({"list": cmd_list, "run": cmd_run, "measure": cmd_measure, "verify": cmd_verify,
                 "data": cmd_data}.get(args.cmd) or import_module(args.handler).main)(args)
    except KeyboardInterrupt:
        out = getattr(args, "resolved_out", None)
        where = f" from {out}" if args.cmd == "run" and out is not None else ""
        nl = "\n" if sys.stderr.isatty() else ""  # end a progress bar's line, where one is drawn
        print(f"{nl}dlscope: interrupted; run the same command again to resume{where}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
