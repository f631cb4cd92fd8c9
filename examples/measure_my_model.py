"""Measure your own model: a ResNet dlscope never saw, trained here, saved as a checkpoint, then measured
from the command line (``dlscope measure``) and from Python (``dlscope.measure``).

    python examples/measure_my_model.py [OUT_DIR]

The model class lives in this file, so ``--model examples/measure_my_model.py:SmallResNet`` finds it;
in your project it is ``--model mypkg.nets:ResNet18`` run from the folder that holds ``mypkg``.
"""
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class SmallResNet(nn.Module):
    """conv stem, one residual block with BatchNorm, global average pool, linear head (1×8×8 inputs)."""

    def __init__(self, width: int = 8, num_classes: int = 2):
        super().__init__()
        self.stem = nn.Conv2d(1, width, 3, padding=1)
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x):
        h = torch.relu(self.stem(x))
        h = torch.relu(h + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(h))))))
        return self.head(h.mean((2, 3)))


def toy_data(n: int, seed: int):
    """Bright-top vs bright-bottom 8×8 images with noise: a task a small CNN learns in a few hundred steps."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.7 * torch.randn(n, 1, 8, 8, generator=g)
    x[y == 0, :, :4] += 1.0
    x[y == 1, :, 4:] += 1.0
    return x, y


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    net = SmallResNet(width=8)
    x, y = toy_data(256, seed=0)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for step in range(150):  # your own training loop; dlscope is not involved
        idx = torch.randint(0, len(y), (32,), generator=torch.Generator().manual_seed(step))
        opt.zero_grad()
        F.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()
    net.eval()
    print(f"train accuracy {(net(x).argmax(1) == y).float().mean():.3f}")
    torch.save(net.state_dict(), out / "ckpt.pt")  # a state dict: what dlscope loads (weights_only=True)
    np.savez(out / "data.npz", x=x.numpy(), y=y.numpy())

    # 1. the command line: the same as typing `dlscope measure ...` in a shell
    from dlscope.cli import main as dlscope

    code = dlscope(["measure", "--model", f"{__file__}:SmallResNet", "--model-arg", "width=8",
                    "--weights", str(out / "ckpt.pt"), "--data", str(out / "data.npz"), "--n", "96",
                    "--what", "margins,hessian-top,trace,weights", "--per-layer",
                    "--option", "trace_matvecs=30", "--out", str(out / "report")])
    assert code == 0

    # 2. Python: every instrument is one function of (model, [loss,] data) returning a Result
    from dlscope import measure as M

    H = M.hessian(net, F.cross_entropy, (x[:128], y[:128]))  # eval mode (BN running statistics), recorded
    top = M.top_eigenvalues(H, k=1, seed=0)
    tr = M.trace(H, num_matvecs=30, seed=0)
    print(f"λ_max = {top.value[0]:.4g} (error bound {top.extra['error_bounds'][0]:.1e}); "
          f"tr H = {tr.value:.4g} ± {tr.stderr:.2g} (seed {tr.settings['seed']}, BatchNorm {tr.settings['bn_mode']})")
    spectra = M.weight_spectra(net, (1, 8, 8))
    for row in spectra.extra["layers"]:
        print(f"{row['name']:6s} {row['kind']:7s} α = {row['alpha']:.2f} ± {row['alpha_stderr']:.2f}, "
              f"stable rank {row['stable_rank']:.1f}, eigenvalues past the MP edge: {row['num_spikes']}  "
              f"[{row['method']}]")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="dlscope-example-")))
