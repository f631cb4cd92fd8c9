"""dlscope — a laboratory for the theory of deep learning.

Train deep nets with SGD on real data (:mod:`dlscope.train`), measure what the theory
talks about (:mod:`dlscope.measure`), and reproduce the field's experiments with one
command each (:mod:`dlscope.experiments`, ``dlscope run NAME``).
"""
__version__ = "0.1.0"

from . import data, measure, models, train, experiments  # noqa: E402

__all__ = ["data", "models", "train", "measure", "experiments", "__version__"]
