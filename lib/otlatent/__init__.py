"""otlatent: optimal transport maps for distribution preserving latent operations.

A reproduction study of Agustsson, Sage, Timofte & Van Gool (ICLR 2019).
Modules:

- :mod:`otlatent.config` -- presets, dataset names, folders
- :mod:`otlatent.runtime` -- seeding, device choice, atomic checkpoints
- :mod:`otlatent.reporting` -- saving figures and tables
- :mod:`otlatent.study` -- :func:`start`, the first call of every notebook
"""

__version__ = "0.1.0"

from .study import Study, start  # noqa: E402

__all__ = ["Study", "start", "__version__"]
