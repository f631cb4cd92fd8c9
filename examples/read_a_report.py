"""Read a report: what a dlscope output folder holds and how to get at it from Python.

    python examples/read_a_report.py FOLDER [FOLDER ...]

FOLDER is what ``dlscope run`` (a preset) or ``dlscope measure`` wrote. Both hold ``summary.json``
(every number of the page), ``config.json`` (what was asked), ``env.json`` (versions, device, threads,
data hash: the provenance), ``report.md`` / ``report.html`` and ``figures/``. Without a FOLDER this
script makes one first (a quick measurement of a tiny net).
"""
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd


def read_preset(s: dict) -> None:
    """Claims are decided from the table on the mean over seeds; controls check the experiment itself."""
    print(f"{s['title']}  (preset {s['preset']}{', --quick' if s.get('quick') else ''})")
    for c in s["claims"]:
        why = f" because {c['reason']}" if c.get("reason") else ""
        print(f"  {'control' if c['kind'] == 'control' else 'claim  '} [{c['status']}]{why}: {c['claim']}")
        print(f"           expected: {c['expected']}; measured: {c['measured']}")
    table = pd.DataFrame(s["table"])  # one row per trained net (or per measured point)
    print(table.to_string(max_cols=8, max_colwidth=24))


def read_measurement(s: dict) -> None:
    """Every value comes with its stderr (None: exact), its seed (None: nothing drawn) and its settings."""
    print(f"{s['title']}: {s['model'].get('source')} on {s['data'].get('source')} (n = {s['data'].get('n')})")
    for e in s["measures"]:
        if e["status"] != "measured":
            print(f"  {e['measure']:12s} {e['status']}: {e.get('reason')}")
            continue
        print(f"  {e['measure']:12s} {e['value']} ± {e['stderr']}  (seed {e['seed']}, mode "
              f"{e['settings'].get('mode', '—')})  {e['quantity']}")
    if s.get("per_layer"):
        top = max(s["per_layer"], key=lambda r: r["lambda_max"])
        print(f"  sharpest layer: {top['layer']} (λ_max of its Hessian block {top['lambda_max']:.3g})")
    if s.get("weight_spectra"):
        print(pd.DataFrame(s["weight_spectra"])[["name", "kind", "alpha", "alpha_stderr", "stable_rank",
                                                  "num_spikes", "method"]].to_string())


def read(folder: Path) -> None:
    s = json.loads((folder / "summary.json").read_text())
    env = json.loads((folder / "env.json").read_text())
    (read_measurement if s.get("kind") == "measurement" else read_preset)(s)
    print(f"  provenance: dlscope {env['dlscope']}, torch {env['torch']} on {env['device']} "
          f"({env['torch_threads']} threads), data hash {s.get('data_hash') or env.get('data_hash')}, git {str(env.get('git_sha'))[:10]}")
    print(f"  figures: {', '.join(s['figures'])}; page: {folder / 'report.html'}\n")


def make_one(out: Path) -> Path:
    import torch
    from torch import nn

    from dlscope.assess import Inputs, assess

    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 3))
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 1, 4, 4, generator=g), torch.randint(0, 3, (64,), generator=g)
    assess(net, Inputs(x, y, 3, {"source": "random inputs", "n": 64}), what=["margins", "trace", "weights"], out=out)
    return out


if __name__ == "__main__":
    folders = [Path(a) for a in sys.argv[1:]] or [make_one(Path(tempfile.mkdtemp(prefix="dlscope-report-")))]
    for f in folders:
        read(f)
