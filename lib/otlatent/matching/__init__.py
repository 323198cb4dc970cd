r"""Distribution matching: the law of a weighted sum of prior components and its monotone map onto the prior.

- :mod:`otlatent.matching.maps` -- :func:`sum_law`, :func:`match` and the matched operations
  (:func:`matched_lerp`, :func:`matched_n_point`, :func:`matched_vicinity`, :func:`matched_analogy`,
  :func:`matched_random_walk`);
- :mod:`otlatent.matching.laws` -- the laws for the Gaussian prior, one scaled term and any i.i.d. prior
  (numerical);
- :mod:`otlatent.matching.uniform` -- the exact piecewise-polynomial law for the uniform prior.

The map itself, T = F_Z^-1 o F_Y, is :func:`otlatent.transport1d.monotone_map`; the laws evaluate it in
closed form or tabulate it.
"""

from .laws import GaussianSumLaw, NumericalSumLaw, ScaleLaw, SumLaw, check_coeffs
from .maps import match, matched_analogy, matched_lerp, matched_n_point, matched_random_walk, matched_vicinity, sum_law
from .uniform import UniformSumLaw

__all__ = [
    "sum_law",
    "match",
    "matched_lerp",
    "matched_n_point",
    "matched_vicinity",
    "matched_analogy",
    "matched_random_walk",
    "SumLaw",
    "GaussianSumLaw",
    "UniformSumLaw",
    "NumericalSumLaw",
    "ScaleLaw",
    "check_coeffs",
]
