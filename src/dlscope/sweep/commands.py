"""The bodies of ``dlscope sweep | table | report`` (arguments: :mod:`.cli_args`). This is command-line
code: the one module of the package that prints (results on stdout, progress and errors on stderr)."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path

from ..data import DataFormatError, MissingDataError
from ..experiments import ConfigError, get, make_config, parse_overrides
from ..report.sweep import aggregate_markdown, rows_markdown
from . import make_executor
from .driver import run_sweep
from .grid import SweepSpec, load_spec, parse_grid, parse_seeds
from .report import default_columns, write_sweep_report
from .table import aggregate, frame, missing_tasks, select, table_rows

__all__ = ["main"]


def _error(msg: str) -> int:
    print(f"dlscope: error: {msg}", file=sys.stderr)
    return 2


def _quiet() -> bool:
    return os.environ.get("DLSCOPE_PROGRESS", "").strip().lower() in ("0", "off", "none", "no", "false")


def default_out(spec: SweepSpec) -> Path:
    """sweeps/PRESET[-quick]-HASH, HASH digesting the overrides, grid and seeds."""
    rec = spec.record()
    digest = hashlib.sha256(json.dumps([rec["set"], rec["grid"], rec["seeds"]], sort_keys=True).encode()).hexdigest()
    return Path("sweeps") / f"{spec.preset}{'-quick' if spec.quick else ''}-{digest[:8]}"


def _progress(total: int):
    finished = [0]

    def show(event: str, info: dict) -> None:
        tasks = ", ".join(f"{t['cell']} seed {t['seed']}" for t in info["unit"]["tasks"])
        if event == "done":
            finished[0] += len(info["unit"]["tasks"])
            r = info["result"]
            print(f"sweep: {finished[0]}/{total} finished: {tasks} (pid {r['pid']} on {r['host']}, {r['wall_s']:.0f} s)",
                  file=sys.stderr, flush=True)
        elif event in ("lost", "failed"):
            print(f"sweep: {event}: {tasks}: {info['error']}" + ("; submitted again" if event == "lost" else ""),
                  file=sys.stderr, flush=True)
    return show


def cmd_sweep(args) -> int:
    try:
        preset = get(args.preset)
        overrides = parse_overrides(preset.Config, args.set or [])
        grid = parse_grid(preset.Config, args.grid or [])
        seeds = parse_seeds(args.seeds, make_config(preset, overrides, args.quick).seeds)
        spec = SweepSpec(preset.name, args.quick, overrides, grid, seeds)
        out = Path(args.out) if args.out else default_out(spec)
        executor = make_executor(args.executor, workers=args.workers, address=args.address,
                                 folder=out / ".submitit", partition=args.partition, time_min=args.time)
    except (ConfigError, ValueError) as e:
        return _error(str(e))
    except ImportError as e:
        extra = {"ray": "ray", "slurm": "slurm", "slurm-local": "slurm"}.get(args.executor, args.executor)
        return _error(f"--executor {args.executor} needs {e.name or 'a missing package'}: pip install 'dlscope[{extra}]'")
    n = len(spec.tasks(out))
    if not _quiet():
        print(f"sweep: {n} tasks ({len(spec.points())} cells × {len(seeds)} seeds) into {out}; {executor.describe()}",
              file=sys.stderr, flush=True)
    try:
        status = run_sweep(spec, out, executor, replicas=args.replicas, retries=args.retries,
                           progress=None if _quiet() else _progress(n))
    except (ConfigError, MissingDataError, DataFormatError) as e:
        return _error(str(e))
    except KeyboardInterrupt:
        executor.shutdown(cancel=True)
        print(f"\ndlscope: interrupted; run the same command again to resume {out}", file=sys.stderr)
        return 130
    executor.shutdown()
    print(f"tasks finished: {status['finished']}/{status['tasks']} (this run: {status['ran']} unit(s), "
          f"{status['resubmitted']} resubmitted after a lost worker)")
    for f in status["failed"]:
        print(f"failed: {', '.join(f['tasks'])}: {f['error']}")
    for note in status["notes"]:
        print(f"note: {note}")
    print(f"table: dlscope table {out}   report: dlscope report {out}")
    return 0 if status["finished"] == status["tasks"] else 1


def cmd_table(args) -> int:
    try:
        spec = load_spec(args.sweep)
    except ConfigError as e:
        return _error(str(e))
    if args.format == "parquet" and importlib.util.find_spec("pyarrow") is None:
        return _error("--format parquet needs pyarrow: pip install 'dlscope[parquet]' (csv and md need nothing more)")
    rows = table_rows(args.sweep, spec)
    missing = missing_tasks(args.sweep, spec)
    if missing:
        print(f"dlscope: {len(missing)} task(s) not finished, not in the table: {', '.join(missing)}", file=sys.stderr)
    if not rows:
        return _error(f"{args.sweep}: no finished task yet")
    patterns = args.metrics.split(",") if args.metrics else None
    if args.format == "md":
        keys = ["cell", *spec.grid]
        every = list(dict.fromkeys(k for r in rows for k in r if k not in keys + ["seed"]))
        cols = default_columns(spec.preset, every) if patterns is None else select(every, patterns)
        text = (f"## {spec.preset}: mean ± sd [95 % CI of the mean] over seeds\n\n"
                + aggregate_markdown(aggregate(rows, spec), keys, cols) + "\n")
        if not args.aggregate:
            text += "\n## One row per cell × seed\n\n" + rows_markdown(rows, keys + ["seed"], cols) + "\n"
        return _write(text, args.output)
    df = frame(rows, spec, aggregated=args.aggregate, patterns=patterns)
    if args.format == "csv":
        return _write(df.to_csv(index=False), args.output)
    path = Path(args.output or Path(args.sweep) / ("table-aggregated.parquet" if args.aggregate else "table.parquet"))
    df.to_parquet(path, index=False)
    print(path)
    return 0


def _write(text: str, output: str | None) -> int:
    if output:
        Path(output).write_text(text)
        print(output)
    else:
        sys.stdout.write(text)
    return 0


def cmd_report(args) -> int:
    try:
        path = write_sweep_report(args.sweep, args.metrics.split(",") if args.metrics else None)
    except ConfigError as e:
        return _error(str(e))
    print(f"report: {path}  (also {path.with_suffix('.md')})")
    return 0


def main(args) -> int:
    return {"sweep": cmd_sweep, "table": cmd_table, "report": cmd_report}[args.cmd](args)

