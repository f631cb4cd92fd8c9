"""Generalization instruments: margins, exact operator norms, spectral complexity, bounds,
flatness, the measure registry and rank-correlation evaluators (issue 3)."""
from .bounds import fat_shattering_bound, spectral_margin_bound, vc_bound
from .complexity import complexity_from_rows, normalized_margins, reinitialized, spectral_complexity
from .flatness import pacbayes_mag_sigma, pacbayes_sigma
from .flatness_ascent import keskar_sharpness, worst_case_sharpness
from .margins import margin_from_logits, margin_percentile, margins
from .norms import layer_norms, param_count, param_distance, param_norm, path_norm
from .opnorm import fold_batchnorm, linear_map_norm, operator_norm, reshaped_kernel_norm
from .rankcorr import conditional_mi, granulated_tau, kendall_tau, sign_error
from .registry import MEASURES, Measure, generalization_gap, measure_all
from .vcdim import network_size, piecewise_polynomial_vc_upper, vc_dimension_bounds

__all__ = [
    "margins", "margin_from_logits", "margin_percentile",
    "operator_norm", "linear_map_norm", "reshaped_kernel_norm", "fold_batchnorm",
    "layer_norms", "path_norm", "param_count", "param_norm", "param_distance",
    "spectral_complexity", "normalized_margins", "reinitialized", "complexity_from_rows",
    "spectral_margin_bound", "vc_bound", "fat_shattering_bound",
    "network_size", "vc_dimension_bounds", "piecewise_polynomial_vc_upper",
    "pacbayes_sigma", "pacbayes_mag_sigma", "worst_case_sharpness", "keskar_sharpness",
    "Measure", "MEASURES", "measure_all", "generalization_gap",
    "kendall_tau", "granulated_tau", "conditional_mi", "sign_error",
]
