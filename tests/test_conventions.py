"""The shape of the package, enforced: imports flow one way, no cycles, no hidden imports, a cheap
``import dlscope``, presets that follow one recipe, tests that use only public names."""
import ast
import re
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dlscope"
TESTS = Path(__file__).resolve().parent

# Which parts of dlscope each part may import (besides itself). Reading: a row's key imports only
# from the listed keys. docs/architecture.md draws the same graph.
ALLOWED = {
    "_version": set(), "_io": set(),
    "data": {"_io", "_version"},
    "models": set(),
    "measure._core": {"_io"},
    "measure.norms": {"measure._core"},
    "measure.bounds": {"measure._core", "measure.norms"},
    "measure.curvature": {"measure._core"},
    "measure.flatness": {"measure._core", "measure.curvature"},
    "measure.landscape": {"measure._core", "measure.curvature"},
    "measure.correlation": {"measure._core", "measure.norms", "measure.bounds", "measure.flatness"},
    "measure.ntk": {"measure._core", "measure.curvature"},
    "measure.depth": {"measure._core", "measure.norms"},
    "measure.noise": {"measure._core", "measure.curvature"},
    "measure.pacbayes": {"measure._core", "measure.flatness", "measure.bounds"},
    "measure.spectra": {"measure._core", "measure.norms"},
    "measure": {"measure._core", "measure.norms", "measure.bounds", "measure.curvature", "measure.flatness",
                "measure.landscape", "measure.correlation", "measure.ntk", "measure.depth", "measure.noise",
                "measure.pacbayes", "measure.spectra"},
    "theory": {"_io", "measure", "measure._core"},
    "train": {"_io", "_version", "data", "models"},
    "report": {"_io"},
    "experiments": {"_io", "_version", "data", "models", "train", "measure", "theory", "report"},
    "sweep": {"_io", "_version", "data", "models", "train", "measure", "experiments", "report"},
    "export": {"_io", "_version", "train", "experiments"},
    "assess": {"_io", "_version", "data", "models", "train", "measure", "report", "experiments"},
    "cli": None,  # the command line may import anything (lazily)
    "__init__": set(),
}


def _modules():
    for p in sorted(SRC.rglob("*.py")):
        rel = p.relative_to(SRC).with_suffix("")
        yield p, list(rel.parts)


def _key(parts: list[str]) -> str:
    """Layer key of a module given its dotted parts below dlscope."""
    if parts == ["__init__"]:
        return "__init__"
    if parts[0] == "measure":
        if len(parts) >= 3 and not parts[1].endswith(".py"):
            return "measure." + parts[1]
        return "measure"
    return parts[0]


def _resolve(parts: list[str], node: ast.ImportFrom | ast.Import) -> list[list[str]]:
    """Dotted parts (below dlscope) of every dlscope module an import statement names."""
    out = []
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.name.startswith("dlscope."):
                out.append(a.name.split(".")[1:])
        return out
    if node.level == 0:
        if not (node.module or "").startswith("dlscope"):
            return []
        base = node.module.split(".")[1:]
    else:
        pkg = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
        base = pkg[: len(pkg) - (node.level - 1)] + (node.module.split(".") if node.module else [])
    if node.module is None or node.level and not node.module:
        return [base + [a.name] for a in node.names]
    return [base]


def _imports():
    for p, parts in _modules():
        tree = ast.parse(p.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _resolve(parts, node):
                    yield p, parts, node, target


def test_imports_flow_one_way():
    bad = []
    for p, parts, node, target in _imports():
        src, dst = _key(parts), _key(target or ["__init__"])
        allowed = ALLOWED.get(src, set())
        if allowed is None or src == dst or dst in ("_version",) and src != "_io":
            continue
        if dst not in allowed:
            bad.append(f"{p.relative_to(SRC)}:{node.lineno} {src} imports {dst}")
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    graph = {}
    for p, parts, node, target in _imports():
        graph.setdefault(".".join(parts), set()).add(".".join(t for t in target))
    # a package import "x.y" stands for x/y/__init__
    nodes = {".".join(parts) for _, parts in _modules()}
    norm = {n: {t if t in nodes else t + ".__init__" for t in ts if (t in nodes or t + ".__init__" in nodes)}
            for n, ts in graph.items()}
    for n in list(norm):  # an __init__ that only re-exports is a hub, not a dependency of its own children
        if n.endswith("__init__"):
            norm[n] = set()
    state, cycle = {}, []

    def visit(n, stack):
        state[n] = 1
        for m in norm.get(n, ()):
            if state.get(m) == 1:
                cycle.append(stack + [n, m])
            elif m not in state:
                visit(m, stack + [n])
        state[n] = 2

    for n in norm:
        if n not in state:
            visit(n, [])
    assert not cycle, cycle[:3]


# Deliberate lazy imports outside cli.py and __init__.py, each with its reason in a comment there:
# mnist1d imports matplotlib.pyplot and requests at import time.
LAZY_OK = {("data/datasets.py", "mnist1d.data")}


def test_no_function_local_imports_outside_cli_and_init():
    bad = []
    for p, parts in _modules():
        if parts[-1] in ("cli", "__init__"):
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        mod = sub.module if isinstance(sub, ast.ImportFrom) else sub.names[0].name
                        if (str(p.relative_to(SRC)), mod) not in LAZY_OK:
                            bad.append(f"{p.relative_to(SRC)}:{sub.lineno}")
    assert not bad, bad


def test_no_pyplot_and_no_backend_switch():
    for p, _ in _modules():
        text = p.read_text()
        assert not re.search(r"import matplotlib\.pyplot|from matplotlib import pyplot|matplotlib\.use\(", text), p


def test_files_stay_small():
    big = {str(p.relative_to(SRC)): n for p, _ in _modules() if (n := len(p.read_text().splitlines())) > 330}
    assert not big, big


def test_import_dlscope_is_light():
    code = ("import sys, dlscope; heavy = [m for m in ('torch', 'pandas', 'matplotlib', 'scipy', "
            "'dlscope.experiments', 'dlscope.report') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def _preset_modules():
    from dlscope.experiments import discover

    return {name: sys.modules[p.run.__module__] for name, p in discover().items()}


# Field groups every preset Config uses in this order (a preset may omit a group it has no use for).
DATA = ["data", "data_root", "n_train", "n_test"]
TAIL = ["seeds", "device"]


@pytest.mark.parametrize("name", sorted(_preset_modules()))
def test_preset_follows_the_recipe(name):
    from dlscope.experiments.claims import ClaimSpec
    from dlscope.train import TrainConfig

    mod = _preset_modules()[name]
    cfg_cls = mod.Config
    assert dataclasses.is_dataclass(cfg_cls) and cfg_cls.__dataclass_params__.frozen
    assert cfg_cls.__mro__[1] is object, "no inherited fields: every knob visible in the preset's file"
    fields = [f.name for f in dataclasses.fields(cfg_cls)]
    if "data" in fields:
        assert fields[:4] == DATA, fields
    assert fields[-2:] == TAIL, fields
    assert isinstance(mod.QUICK, dict) and set(mod.QUICK) <= set(fields)
    assert mod.CLAIMS and all(isinstance(s, ClaimSpec) and s.key == k for k, s in mod.CLAIMS.items())
    assert mod.PRESET.claims is mod.CLAIMS and mod.PRESET.quick is mod.QUICK
    cfg = cfg_cls()
    if hasattr(mod, "recipe"):
        assert isinstance(mod.recipe(cfg, seed=cfg.seeds[0]), TrainConfig)
    lines = (SRC / "experiments" / f"{mod.__name__.rsplit('.', 1)[1]}.py").read_text().splitlines()
    assert len(lines) <= 330
    # every field is commented where it is declared, or sits in a commented block
    src = "\n".join(lines)
    assert "# data" in src or "data" not in fields


def test_tests_use_public_names_only():
    bad = []
    for p in TESTS.rglob("test_*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dlscope"):
                if any(part.startswith("_") for part in node.module.split(".")) or \
                        any(a.name.startswith("_") for a in node.names):
                    bad.append(f"{p.relative_to(TESTS)}:{node.lineno} {node.module}")
    assert not bad, bad
