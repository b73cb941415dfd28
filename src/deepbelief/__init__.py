"""deepbelief: Restricted Boltzmann Machines and Deep Belief Networks for scikit-learn users.

The estimators and the safe model file format. Data sets are in :mod:`deepbelief.datasets`,
pictures in :mod:`deepbelief.viz`, run folders and the command line's jobs in
:mod:`deepbelief.runs`, the seed experiments in :mod:`deepbelief.experiments`.
"""

from ._version import __version__
from .models import DBM, DBN, RBM, DBMClassifier, DBNClassifier, DeepAutoencoder, load, save

__all__ = ["RBM", "DBN", "DBM", "DBNClassifier", "DBMClassifier", "DeepAutoencoder", "load", "save",
           "__version__"]
