"""Measure a net you bring: ``dlscope measure`` as a library.

``prepare(...)`` turns a model named by import path (with constructor arguments) or by a dlscope
run directory, a weights file (safetensors, or a torch checkpoint read with ``weights_only=True``
only) and a dataset (by name, or a ``.npz`` of arrays) into (model, inputs, source record);
``assess(model, inputs, what=[...], out=DIR)`` runs the chosen measures of :mod:`dlscope.measure`
and writes ``DIR/report.{md,html}``, ``summary.json``, ``config.json``, ``env.json`` and figures.
Every error a user or a file can cause is an :class:`AssessError` with a one-line message.
"""
from .inputs import Inputs, inputs_by_name, inputs_from_npz
from .measures import OPTIONS, WHAT
from .prepare import prepare
from .session import assess, default_out, parse_options, parse_what, summary_lines
from .sources import AssessError, load_model, load_weights, model_from_run

__all__ = ["assess", "prepare", "AssessError", "WHAT", "OPTIONS", "Inputs", "inputs_by_name", "inputs_from_npz",
           "load_model", "load_weights", "model_from_run", "parse_what", "parse_options", "default_out",
           "summary_lines"]
