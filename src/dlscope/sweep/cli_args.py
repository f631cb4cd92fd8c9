"""Arguments of ``dlscope sweep | table | report | export`` (argparse only: ``dlscope --help`` stays instant)."""
from __future__ import annotations

import argparse

__all__ = ["add_parsers", "COMMANDS"]

COMMANDS = ("sweep", "table", "report", "export")


def add_parsers(sub, epilog: str = "") -> None:
    """Add the four commands to ``sub`` (the CLI's subparsers); each sets ``handler``, the module whose
    ``main(args)`` runs it."""
    fmt = argparse.RawDescriptionHelpFormatter
    s = sub.add_parser("sweep", help="run a preset over a grid × seeds on a process pool, Ray or SLURM (a rerun "
                                     "resumes)", epilog=epilog, formatter_class=fmt)
    s.add_argument("preset", help="preset name (see: dlscope list)")
    s.add_argument("--grid", action="append", metavar="KEY=V1,V2", help="a grid axis (repeatable); for list-valued "
                                                                        "keys separate values by | (fractions=0,1|0,0.5,1)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field in every cell")
    s.add_argument("--seeds", default=None, metavar="N|S1,S2", help="N seeds 0..N-1, or a list (default: the preset's)")
    s.add_argument("--quick", action="store_true", help="every cell at the preset's --quick size")
    s.add_argument("--executor", choices=["local", "ray", "slurm", "slurm-local"], default="local",
                   help="local process pool (default), Ray (dlscope[ray]), SLURM via submitit (dlscope[slurm]); "
                        "slurm-local: submitit's local mode")
    s.add_argument("--address", default=None, metavar="HOST:PORT", help="Ray: join this cluster (default: start a "
                                                                        "local one)")
    s.add_argument("--workers", type=int, default=None, help="tasks at a time (default: cores // DLSCOPE_THREADS)")
    s.add_argument("--replicas", type=int, default=1, metavar="K",
                   help="train up to K cells differing only in seed, lr, momentum or weight_decay as one vmapped "
                        "model (zhang2017-random-labels, keskar2017-large-batch; equal to separate runs up to float "
                        "rounding)")
    s.add_argument("--retries", type=int, default=3, help="resubmissions of a task whose worker was lost (default 3)")
    s.add_argument("--partition", default=None, help="SLURM partition")
    s.add_argument("--time", type=int, default=24 * 60, metavar="MINUTES", help="SLURM time limit per job")
    s.add_argument("--out", default=None, help="sweep folder (default sweeps/PRESET[-quick]-HASH)")
    t = sub.add_parser("table", help="a sweep's results: one row per cell × seed, and mean ± sd / 95%% CI per cell")
    t.add_argument("sweep", metavar="SWEEP", help="the sweep folder")
    t.add_argument("--format", choices=["md", "csv", "parquet"], default="md")
    t.add_argument("--aggregate", action="store_true", help="csv/parquet: the per-cell aggregate instead of the rows")
    t.add_argument("--metrics", default=None, metavar="GLOBS", help="comma-separated column patterns (e.g. "
                   "'claim:*,*.test_acc'); default md: the preset's headline columns, csv/parquet: all")
    t.add_argument("--output", default=None, metavar="FILE", help="write here (parquet default: SWEEP/table.parquet)")
    r = sub.add_parser("report", help="a sweep's HTML page: claims per cell over seeds, figures with error bars")
    r.add_argument("sweep", metavar="SWEEP", help="the sweep folder")
    r.add_argument("--metrics", default=None, metavar="GLOBS", help="columns to show and plot (default: headline)")
    e = sub.add_parser("export", help="export a run, preset run or sweep to TensorBoard or W&B (offline)")
    e.add_argument("path", metavar="RUN_OR_SWEEP", help="a training run, preset run or sweep folder")
    e.add_argument("--to", choices=["tensorboard", "wandb"], required=True)
    e.add_argument("--out", default=None, help="destination (default PATH/tensorboard or PATH/wandb-export)")
    e.add_argument("--project", default="dlscope", help="W&B project name (default dlscope)")
    # The module whose main(args) runs the command (named, not imported: dlscope.cli imports it when run).
    for p in (s, t, r):
        p.set_defaults(handler="dlscope.sweep.commands")
    e.set_defaults(handler="dlscope.export.command")
