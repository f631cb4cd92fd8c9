"""Claims: what a paper found, stated once per preset, and whether it held on this run.

The rule (docs/architecture.md, "Claims"): every claim states the paper's finding faithfully
(citing the figure or table), has a threshold that a wrong result would cross, is decided on the
mean over seeds with its uncertainty (a difference counts only beyond ≈ 2 standard errors, or by
a paired test across seeds), and is **not evaluable** when its inputs are not what it assumes
(diverged runs, points that are not critical, one seed where a spread is needed). A check of the
experiment itself ("both runs reached the target loss") is a **control**: shown, not counted.

A preset declares ``CLAIMS = declare(key=ClaimSpec(...), ...)`` once; its ``run`` returns one
:class:`Claim` per key, made by ``CLAIMS[key].judge(measured, ok)`` or
``CLAIMS[key].not_evaluable(reason, measured)``.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from .._io import to_jsonable

__all__ = ["ClaimSpec", "Claim", "declare", "HELD", "NOT_HELD", "NOT_EVALUABLE", "count_held"]

HELD, NOT_HELD, NOT_EVALUABLE = "held", "not held", "not evaluable"


@dataclasses.dataclass(frozen=True)
class ClaimSpec:
    """A literature claim (or a control) as a preset declares it."""

    text: str                 # the finding, in the paper's terms
    source: str               # paper, figure or table
    expected: str             # the threshold that decides it
    control: bool = False     # an experimental control, not a literature claim
    key: str = ""             # set by :func:`declare`

    def judge(self, measured: Any, ok: bool | None, reason: str | None = None) -> "Claim":
        """held / not held from ``ok``; ``ok=None`` means not evaluable (give ``reason``)."""
        status = NOT_EVALUABLE if ok is None else (HELD if bool(ok) else NOT_HELD)
        return Claim(self.key, self.text, self.source, self.expected, measured, status,
                     "control" if self.control else "claim", reason)

    def not_evaluable(self, reason: str, measured: Any = None) -> "Claim":
        return self.judge({} if measured is None else measured, None, reason)


def declare(**specs: ClaimSpec) -> dict[str, ClaimSpec]:
    """``CLAIMS = declare(fit=ClaimSpec(...), ...)``: each spec learns its key."""
    return {k: dataclasses.replace(v, key=k) for k, v in specs.items()}


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim checked on one run; ``status`` is computed from the measured table, never asserted."""

    key: str
    claim: str
    source: str
    expected: Any
    measured: Any
    status: str
    kind: str = "claim"
    reason: str | None = None

    @property
    def held(self) -> bool | None:
        return None if self.status == NOT_EVALUABLE else self.status == HELD

    def to_json(self) -> dict:
        return to_jsonable({**dataclasses.asdict(self), "held": self.held})


def count_held(claims: list[dict]) -> tuple[int, int, int]:
    """(held, evaluable, total) over the literature claims of a summary (controls excluded)."""
    lit = [c for c in claims if c.get("kind", "claim") == "claim"]
    return (sum(c["status"] == HELD for c in lit), sum(c["status"] != NOT_EVALUABLE for c in lit), len(lit))
