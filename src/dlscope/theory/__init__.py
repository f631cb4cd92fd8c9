"""Theory: the constructions and inequalities the depth experiments check (math, not measurement).

=================================  ==================================================================
``near_identity_factorization``    A = (I + A_m)⋯(I + A_1), max‖A_i‖ = O(1/m) for det A > 0
                                   (Hardt & Ma 2017); ``factorization_summary`` its numbers
``bel_composition``                a smooth invertible h as h_m ∘ ⋯ ∘ h_1 with ‖h_i − Id‖_L small
                                   (Bartlett, Evans & Long 2018, Thm 1)
``gradient_lower_bound``           ‖D_{h_i}Q(h)‖ ≥ (1 − ε)^{m−1}(Q(h) − Q(h*))/‖h − h*‖ checked on a
                                   sample (Bartlett, Evans & Long 2018, Thm 3)
``deep_linear``                    gradient descent on deep linear (residual) nets with their closed-
                                   form population losses (Hardt & Ma 2017; Bartlett, Helmbold & Long 2018)
=================================  ==================================================================
"""
from .bel import BELComposition, bel_composition, schedule
from .deep_linear import deep_linear_gd, end_to_end, layer_gradients, pl_ratio
from .factorization import factorization_summary, near_identity_factorization, product
from .gradient_bound import frechet_gradient_norms, gradient_lower_bound

__all__ = ["near_identity_factorization", "factorization_summary", "product", "bel_composition",
           "BELComposition", "schedule", "gradient_lower_bound", "frechet_gradient_norms", "deep_linear_gd", "layer_gradients", "end_to_end", "pl_ratio"]
