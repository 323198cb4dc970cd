r"""Distribution matching: the law of a weighted sum of prior components and its monotone map onto the prior.

- :mod:`otlatent.matching.maps` -- :func:`sum_law`, :func:`match` and the matched operations
  (:func:`matched_lerp`, :func:`matched_n_point`, :func:`matched_vicinity`, :func:`matched_analogy`,
  :func:`matched_random_walk`);
- :mod:`otlatent.matching.laws` -- the laws for the Gaussian prior, one scaled term and any i.i.d. prior
  (numerical);
- :mod:`otlatent.matching.uniform` -- the exact piecewise-polynomial law for the uniform prior;
- :mod:`otlatent.matching.learned` -- matching to a learned law: monotone maps onto the empirical marginals of an
  encoder's codes (:func:`match_to_law`).

The map itself, T = F_Z^-1 o F_Y, is :func:`otlatent.transport1d.monotone_map`; the laws evaluate it in
closed form or tabulate it.
"""

from . import maps
from .laws import GaussianSumLaw, NumericalSumLaw, ScaleLaw, SumLaw, check_coeffs
from .learned import EmpiricalLaw, match_to_law, operation_samples
from .maps import *  # noqa: F403 - the matched operations, as listed in maps.__all__
from .uniform import UniformSumLaw

__all__ = [
    *maps.__all__,
    "SumLaw",
    "GaussianSumLaw",
    "UniformSumLaw",
    "NumericalSumLaw",
    "ScaleLaw",
    "check_coeffs",
    "EmpiricalLaw",
    "match_to_law",
    "operation_samples",
]
