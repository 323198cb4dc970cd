"""Sample-quality and reconstruction measures, one concern per module.

- :mod:`~otlatent.metrics.image_statistics` -- per-image saturation, contrast and sharpness, and their
  comparison between image sets (:func:`image_statistics`, :func:`compare_statistics`);
- :mod:`~otlatent.metrics.inception` -- the inception score (:func:`inception_score`), where the Inception-v3
  weights are looked for (:func:`inception_status`) and torch-fidelity's metrics on uint8 images
  (:func:`fidelity_metrics`);
- :mod:`~otlatent.metrics.distances` -- FID and KID on any features (:func:`frechet_distance`,
  :func:`kernel_distance`, :func:`mmd2_unbiased`);
- :mod:`~otlatent.metrics.resampling` -- permutation tests, bootstrap intervals, Holm's correction;
- :mod:`~otlatent.metrics.tables` -- one table of scores against the random samples (:func:`score_sets`), the
  paper's Table 2 layout (:func:`paper_style_table`), its claims (:func:`verdicts`), means with intervals;
- :mod:`~otlatent.metrics.equivalence` -- verdicts over replicated models: set noise from several random-sample
  draws, random-effects pooling, equivalence (TOST) with a fixed margin, Holm-adjusted "worse" tests
  (:func:`evidence`, :func:`false_positive_rate`), and the same verdicts for paired sets with a bootstrap over
  people (:func:`paired_bootstrap_changes`, :func:`pool_evidence`);
- :mod:`~otlatent.metrics.calibration` -- a ladder of known degradations of real images and each score's response
  (:func:`degradation_ladder`, :func:`sensitivity`);
- :mod:`~otlatent.metrics.reconstruction` -- MSE, PSNR and SSIM against clean images.

The names below are re-exported so that ``from otlatent import metrics; metrics.score_sets(...)`` works.
"""

from .calibration import (
    DEGRADATIONS,
    MIDPOINT_LIKE,
    degradation_ladder,
    degrade,
    score_ladder,
    sensitivity,
    usable_scores,
)
from .distances import fid_terms, frechet_distance, kernel_distance, mmd2_unbiased
from .equivalence import (
    BASELINE,
    MARGIN_SD,
    RANDOM_VS_RANDOM,
    equivalence_power,
    evidence,
    false_positive_rate,
    paired_bootstrap_changes,
    paired_units,
    pool_evidence,
    random_effects,
    relative_changes,
    set_noise,
    simulated_power,
    tost_p,
    verdict_table,
    worse_p,
)
from .image_statistics import LAPLACIAN, compare_statistics, image_statistics, statistics_table
from .inception import (
    INCEPTION_WEIGHTS_FILE,
    U8Images,
    fidelity_metrics,
    inception_features,
    inception_score,
    inception_status,
    inception_weights_candidates,
)
from .reconstruction import PSNR_CAP, reconstruction_quality
from .resampling import bootstrap_ci, holm, kid_permutation_test, permutation_test
from .tables import WORSE, mean_ci_table, paper_style_table, score_sets, set_scores, verdicts

__all__ = [
    "image_statistics",
    "statistics_table",
    "compare_statistics",
    "LAPLACIAN",
    "inception_score",
    "inception_status",
    "inception_features",
    "inception_weights_candidates",
    "INCEPTION_WEIGHTS_FILE",
    "U8Images",
    "fidelity_metrics",
    "frechet_distance",
    "kernel_distance",
    "mmd2_unbiased",
    "holm",
    "permutation_test",
    "bootstrap_ci",
    "kid_permutation_test",
    "score_sets",
    "set_scores",
    "fid_terms",
    "evidence",
    "verdict_table",
    "false_positive_rate",
    "pool_evidence",
    "paired_bootstrap_changes",
    "paired_units",
    "set_noise",
    "relative_changes",
    "random_effects",
    "tost_p",
    "worse_p",
    "equivalence_power",
    "simulated_power",
    "MARGIN_SD",
    "BASELINE",
    "RANDOM_VS_RANDOM",
    "DEGRADATIONS",
    "degrade",
    "degradation_ladder",
    "sensitivity",
    "MIDPOINT_LIKE",
    "score_ladder",
    "usable_scores",
    "WORSE",
    "paper_style_table",
    "verdicts",
    "reconstruction_quality",
    "mean_ci_table",
    "PSNR_CAP",
]
