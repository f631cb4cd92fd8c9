"""A sweep's grid, seeds, cell names, what counts as finished, and the workers × threads sizing —
no worker started here."""
import json

import pytest

from cases import SWEEP_TINY
from dlscope.experiments import ConfigError, get
from dlscope.sweep import SweepSpec, cell_name, load_spec, parse_grid, parse_seeds, size_workers, worker_env

Config = get("zhang2017-random-labels").Config


def test_grid_is_typed_by_the_config_and_lists_split_on_bars():
    g = parse_grid(Config, ["lr=0.01, 0.02", "width=16,32", "fractions=0,1|0,0.5,1", "model=mlp,cnn"])
    assert g == {"lr": [0.01, 0.02], "width": [16, 32], "fractions": [(0.0, 1.0), (0.0, 0.5, 1.0)],
                 "model": ["mlp", "cnn"]}
    assert isinstance(g["width"][0], int) and isinstance(g["lr"][0], float)


@pytest.mark.parametrize("item, words", [("lr", "key=v1,v2"), ("seeds=1,2", "--seeds"), ("lr=", "no values"),
                                         ("lr=0.1,0.1", "repeated"), ("nokey=1", "nokey"), ("width=abc", "width")])
def test_grid_errors_are_one_line(item, words):
    with pytest.raises(ConfigError, match=words) as e:
        parse_grid(Config, [item])
    assert "\n" not in str(e.value)


def test_a_key_given_twice_is_refused():
    with pytest.raises(ConfigError, match="twice"):
        parse_grid(Config, ["lr=0.1", "lr=0.2"])


def test_seeds_count_list_default_and_refusals():
    assert parse_seeds("3", (0, 1)) == (0, 1, 2)
    assert parse_seeds("4,7", (0,)) == (4, 7)
    assert parse_seeds(None, (0, 1)) == (0, 1)
    for bad in ("0", "x", "1,1", "-1,2"):
        with pytest.raises(ConfigError):
            parse_seeds(bad, (0,))


def test_cell_names_are_readable_safe_and_distinct():
    assert cell_name({}) == "base"
    assert cell_name({"lr": 0.01, "width": 16}) == "lr=0.01,width=16"
    assert cell_name({"fractions": (0.0, 0.5)}) == "fractions=0.0-0.5"
    odd = [cell_name({"data_root": p}) for p in ("/a b/c", "/a_b/c", "/a?b/c")]
    assert len(set(odd)) == 3 and all("/" not in n and " " not in n for n in odd)
    assert len(cell_name({"data_root": "x" * 200})) <= 80


def test_tasks_expand_cells_times_seeds_in_grid_order(tmp_path):
    spec = SweepSpec("zhang2017-random-labels", True, dict(SWEEP_TINY), {"lr": [0.01, 0.02], "width": [4, 8]},
                     (0, 1, 2))
    tasks = spec.tasks(tmp_path)
    assert len(tasks) == 12 and len({t.out for t in tasks}) == 12
    assert [t.label for t in tasks[:4]] == ["lr=0.01,width=4 seed 0", "lr=0.01,width=4 seed 1",
                                            "lr=0.01,width=4 seed 2", "lr=0.01,width=8 seed 0"]
    assert tasks[5].overrides == {**SWEEP_TINY, "lr": 0.01, "width": 8, "seeds": (2,)}
    assert tasks[5].out == tmp_path / "cells" / "lr=0.01,width=8" / "seed2"


def test_an_invalid_cell_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError):
        SweepSpec("zhang2017-random-labels", True, dict(SWEEP_TINY), {"lr": [0.01, -1.0]}, (0,))
    assert not any(tmp_path.iterdir())


def test_spec_round_trips_and_another_setting_in_the_same_folder_is_refused(tmp_path):
    spec = SweepSpec("zhang2017-random-labels", True, dict(SWEEP_TINY), {"fractions": [(0.0,), (0.0, 1.0)]}, (0, 1))
    spec.write(tmp_path)
    assert load_spec(tmp_path) == spec
    SweepSpec(spec.preset, True, spec.overrides, {"lr": [0.1]}, (5,)).write(tmp_path)  # grid/seeds may change
    with pytest.raises(ConfigError, match="another --out"):
        SweepSpec(spec.preset, True, {**spec.overrides, "width": 8}, {}, (0,)).write(tmp_path)
    with pytest.raises(ConfigError, match="not a sweep folder"):
        load_spec(tmp_path / "nothing")


def test_a_task_is_done_iff_its_summary_exists_and_its_config_matches(tmp_path):
    spec = SweepSpec("zhang2017-random-labels", True, dict(SWEEP_TINY), {}, (0,))
    (t,) = spec.tasks(tmp_path)
    t.out.mkdir(parents=True)
    record = t.record(spec.preset, True)
    (t.out / "config.json").write_text(json.dumps(record))
    assert not t.done(spec.preset, True)                       # no summary
    (t.out / "summary.json").write_text("{}")
    assert t.done(spec.preset, True)
    assert not t.done(spec.preset, False)                      # another configuration (--quick off)
    (t.out / "config.json").write_text(json.dumps({**record, "config": {**record["config"], "lr": 0.5}}))
    assert not t.done(spec.preset, True)                       # config changed
    (t.out / "config.json").write_text("{torn")
    assert not t.done(spec.preset, True)                       # unreadable config


def test_workers_times_threads_never_exceed_the_cores(monkeypatch):
    assert size_workers(None, 1, available=2) == (2, 1)
    assert size_workers(None, 2, available=2) == (1, 2)
    assert size_workers(1, None, available=4)[0] == 1
    with pytest.raises(ValueError, match="cores"):
        size_workers(2, 2, available=2)
    with pytest.raises(ValueError):
        size_workers(0, 1, available=2)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert worker_env(2) == {"OMP_WAIT_POLICY": "PASSIVE", "DLSCOPE_THREADS": "2", "OMP_NUM_THREADS": "2"}
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # a value the user set is kept
    assert worker_env(1)["OMP_WAIT_POLICY"] == "ACTIVE"
