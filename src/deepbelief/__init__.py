"""deepbelief: Restricted Boltzmann Machines and Deep Belief Networks for scikit-learn users.

The estimators and the safe model file format. Data sets are in :mod:`deepbelief.datasets`,
pictures in :mod:`deepbelief.viz`, run folders and the command line's jobs in
:mod:`deepbelief.runs`, the seed experiments in :mod:`deepbelief.experiments`.
"""

from ._version import __version__

__all__ = ["RBM", "DBN", "DBM", "DBNClassifier", "DBMClassifier", "DeepAutoencoder", "load", "save",
           "__version__"]


def __getattr__(name):
    # The estimators are imported on first use, not with the package: ``deepbelief --help`` then
    # answers without loading torch (seconds).
    if name in __all__:
        from . import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
