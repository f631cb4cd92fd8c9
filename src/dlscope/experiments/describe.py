"""A preset's keys as ``dlscope run NAME --help`` lists them: name, default, --quick value, comment.

The comments are read from the preset module's source (``tokenize``): the comment that ends a
field's line, and the block comment (``# data``, ``# model``, …) that heads its group — the same
text a reader sees in the file, so the help cannot drift from it.
"""
from __future__ import annotations

import dataclasses
import inspect
import io
import tokenize

from .base import Preset

__all__ = ["field_comments", "describe_keys"]


def field_comments(cls: type) -> dict[str, tuple[str, str]]:
    """{field: (group heading, trailing comment)} from the source of dataclass ``cls``."""
    try:
        src = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    out, group, first_on_line = {}, "", {}
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        row = tok.start[0]
        if tok.type == tokenize.COMMENT:
            text = tok.string.lstrip("#").strip()
            name = first_on_line.get(row)
            if name is None:
                group = text
            elif name in out:
                out[name] = (out[name][0], text)
        elif tok.type == tokenize.NAME and row not in first_on_line and tok.start[1] == 4:
            first_on_line[row] = tok.string
            out[tok.string] = (group, "")
        elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT) and row not in first_on_line:
            first_on_line[row] = None  # a line that does not start with a name at class-body depth
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in out.items() if k in names}


def _show(v) -> str:
    if isinstance(v, tuple):
        return ",".join(str(x) for x in v) or "()"
    return "none" if v is None else str(v)


def describe_keys(preset: Preset) -> str:
    """The keys of ``preset`` as text: one line each, grouped as in its Config."""
    comments = field_comments(preset.Config)
    lines = [f"{preset.name}: {preset.title}", "",
             "keys (--set KEY=VALUE; default, [--quick value]):"]
    group = None
    for f in dataclasses.fields(preset.Config):
        g, comment = comments.get(f.name, ("", ""))
        if g != group:
            lines.append(f"  {g}:" if g else "")
            group = g
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "")
        quick = f" [{_show(preset.quick[f.name])}]" if f.name in preset.quick else ""
        lines.append(f"    {f.name + ' = ' + _show(default) + quick:40s} {comment}".rstrip())
    return "\n".join(lines)
