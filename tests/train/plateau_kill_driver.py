"""Run one small plateau-schedule training into a run directory, printing each step (for a SIGKILL test).

Usage: python plateau_kill_driver.py RUN_DIR — the parent reads ``step N`` lines and may kill it.
"""
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from dlscope import data as D  # noqa: E402
from dlscope import models as M  # noqa: E402
from dlscope.train import TrainConfig, fit  # noqa: E402

CFG = TrainConfig(max_steps=160, batch_size=40, lr=0.05, eval_every=8, schedule="plateau", plateau_patience=2,
                  plateau_tol=0.05, plateau_factor=10.0, augment=True, snapshot_every=16, seed=1)


def main(run_dir):
    torch.set_num_threads(1)
    ds = D.load("mnist1d", n_train=200, n_test=100, seed=0)
    torch.manual_seed(0)
    net = M.build("mlp", input_shape=ds.input_shape, num_classes=10, widths=(32,), dropout=0.1)

    def progress(step, total):
        print(f"step {step}", flush=True)

    fit(net, ds, CFG, run_dir=run_dir, progress=progress)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
