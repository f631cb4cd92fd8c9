"""Instruments: pure functions of (model, [loss_fn,] data) that return :class:`Result` objects.

Every instrument accepts any ``nn.Module``, data as ``(x, y)`` tensors or an iterable of ``(x, y)``
batches (read once), a ``seed`` where it draws random numbers, and leaves the model exactly as
it found it. The families, one subpackage each (imports flow upward only:
``_core`` ← ``norms`` ← ``bounds``; ``_core`` ← ``curvature`` ← ``flatness``, ``landscape``, ``ntk``;
``bounds``, ``flatness`` ← ``correlation``; ``norms`` ← ``spectra``):

=============  ==========================================================================
``_core``      ``Result``; ``preserved``; the one evaluator (any loss, any error);
               seeded draws; monotone searches
``norms``      the layer chain of a model (BN folded, Lipschitz constants of what follows) and its
               structure from the autograd graph (joins, functional ops: is it a chain?); bias
               augmentation [[A, c], [0, 1]]; exact operator norms; per-layer norms; path norms
``bounds``     margins; Bartlett et al. 2017 (R_A, normalized margins, the margin bound);
               VC dimensions and the VC bound; Bartlett 1998 (fat-shattering)
``flatness``   PAC-Bayes σ′; worst-case α′; Keskar et al. ε-sharpness; average and
               adaptive sharpness; the one ascent helper
``curvature``  the Hessian / GGN operator; Lanczos; trace; SLQ density; eigenvalue counts
               with a quadrature bracket; Newton-type critical-point searches and the
               Hessian index; in-training probes
``landscape``  directions; 1-D/2-D slices, Hessian ratio maps and interpolation; Bezier /
               PolyChain / NEB paths;
               weight matching; the barrier
``correlation`` the measure registry of Jiang et al. 2020 and its rank-correlation scores
``spectra``    weight spectra (Martin & Mahoney): per-layer ESD of WᵀW of the layer's exact
               linear map (FFT for circular convolutions, Sedghi et al. 2019), power-law α by
               Clauset–Shalizi–Newman, stable rank, the Marchenko–Pastur comparison
``ntk``        the empirical neural tangent kernel in blocks under a memory budget; kernel
               distance and kernel-target alignment (also as in-training probes); the
               linearized model; the infinite-width ReLU NTK and kernel regression by GD;
               the peak-memory tracker
=============  ==========================================================================
"""
from ._core.result import Result
from ._core.risk import classification_error
from ._core.state import preserved
from .bounds.bartlett1998 import fat_shattering_bound
from .bounds.bartlett2017 import (complexity_from_rows, input_fro, normalized_margins, reinitialized,
                                  spectral_complexity, spectral_margin_bound)
from .bounds.margins import margin_from_logits, margin_percentile, margins
from .bounds.vc import (lower_order_growth, n_for_nonvacuous, network_size, piecewise_polynomial_vc_upper, vc_bound,
                        vc_dimension_bounds)
from .correlation.rankcorr import conditional_mi, granulated_tau, kendall_tau, sign_error
from .correlation.registry import MEASURES, Measure, generalization_gap, measure_all
from .curvature.base import CurvatureOperator, as_operator
from .curvature.counting import fraction_below
from .curvature.critical import hessian_index, minimize_gradient_norm
from .curvature.density import negative_fraction, spectral_density
from .curvature.lanczos import bottom_eigenvalues, extreme_eigenvalues, top_eigenvalues
from .curvature.operator import ggn, hessian
from .curvature.probes import edge_of_stability, gradient_noise
from .curvature.trace import trace
from .flatness.keskar2017 import keskar_sharpness
from .flatness.pacbayes import pacbayes_mag_sigma, pacbayes_sigma
from .flatness.sharpness import adaptive_sharpness, average_sharpness, sharpness_summary
from .flatness.worst_case import worst_case_sharpness
from .landscape.alignment import weight_matching
from .landscape.barrier import barrier
from .landscape.directions import landscape_directions
from .landscape.paths import find_path
from .landscape.slices import eigenvalue_ratio_map, interpolate, slice_1d, slice_2d
from .norms.chain import trace_layers
from .norms.layer_norms import layer_norms
from .norms.linear_map import linear_map_norm
from .norms.operator import fold_batchnorm, operator_norm, reshaped_kernel_norm
from .norms.path_norm import param_count, param_distance, param_norm, path_norm
from .spectra.layer_map import conv_fft_singular_values, layer_singular_values, stable_rank
from .spectra.marchenko_pastur import mp_cdf, mp_compare, mp_density, mp_edges
from .spectra.powerlaw import fit_power_law
from .spectra.weight_spectra import weight_spectra
from .ntk.analytic import kernel_regression, relu_ntk
from .ntk.empirical import ntk
from .ntk.kernels import kernel_alignment, kernel_distance, kernel_probe
from .ntk.linearized import Linearized, linearized
from .ntk.memory import PeakMemory

__all__ = [
    # core
    "Result", "preserved", "classification_error",
    # norms
    "trace_layers", "operator_norm", "linear_map_norm", "reshaped_kernel_norm", "fold_batchnorm", "layer_norms",
    "path_norm", "param_count", "param_norm", "param_distance",
    # bounds
    "margins", "margin_from_logits", "margin_percentile",
    "spectral_complexity", "normalized_margins", "reinitialized", "complexity_from_rows", "spectral_margin_bound",
    "input_fro",
    "network_size", "vc_dimension_bounds", "piecewise_polynomial_vc_upper", "vc_bound", "n_for_nonvacuous",
    "lower_order_growth",
    "fat_shattering_bound",
    # flatness
    "pacbayes_sigma", "pacbayes_mag_sigma", "worst_case_sharpness", "keskar_sharpness",
    "average_sharpness", "adaptive_sharpness", "sharpness_summary",
    # curvature
    "CurvatureOperator", "hessian", "ggn", "as_operator", "top_eigenvalues", "bottom_eigenvalues", "trace",
    "extreme_eigenvalues", "spectral_density", "negative_fraction", "fraction_below", "hessian_index",
    "minimize_gradient_norm",
    "edge_of_stability", "gradient_noise",
    # landscape
    "landscape_directions", "slice_1d", "slice_2d", "interpolate", "eigenvalue_ratio_map", "find_path", "barrier",
    "weight_matching",
    # correlation
    "Measure", "MEASURES", "measure_all", "generalization_gap", "kendall_tau", "granulated_tau", "conditional_mi",
    "sign_error",
    # spectra
    "weight_spectra", "fit_power_law", "layer_singular_values", "conv_fft_singular_values", "stable_rank",
    "mp_edges", "mp_density", "mp_cdf", "mp_compare",
    # ntk
    "ntk", "kernel_distance", "kernel_alignment", "kernel_probe", "linearized", "Linearized", "relu_ntk",
    "kernel_regression", "PeakMemory",
]
