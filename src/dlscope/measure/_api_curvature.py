"""Optimization instruments: curvature operator, spectrum, trace, density, sharpness,
landscape slices, mode connectivity, in-training probes."""
from ._curv_common import classification_error
from .alignment import weight_matching
from .connectivity import barrier, find_path
from .critical import hessian_index, minimize_gradient_norm
from .curvature import CurvatureOperator, as_operator, ggn, hessian
from .density import negative_fraction, spectral_density
from .landscape import interpolate, landscape_directions, slice_1d, slice_2d
from .lanczos import bottom_eigenvalues, top_eigenvalues
from .probes import edge_of_stability, gradient_noise
from .sharpness import adaptive_sharpness, average_sharpness, sharpness_summary
from .trace import trace

__all__ = [
    "CurvatureOperator", "hessian", "ggn", "as_operator",
    "top_eigenvalues", "bottom_eigenvalues",
    "trace",
    "spectral_density", "negative_fraction",
    "average_sharpness", "adaptive_sharpness", "sharpness_summary",
    "slice_1d", "slice_2d", "interpolate", "landscape_directions",
    "find_path", "barrier", "weight_matching", "classification_error",
    "edge_of_stability", "gradient_noise",
    "hessian_index", "minimize_gradient_norm",
]
