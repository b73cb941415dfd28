"""deepbelief: Restricted Boltzmann Machines and Deep Belief Networks for scikit-learn users."""

from ._version import __version__
from .models import DBM, DBN, RBM, DBMClassifier, DBNClassifier, DeepAutoencoder, load

__all__ = ["RBM", "DBN", "DBM", "DBNClassifier", "DBMClassifier", "DeepAutoencoder", "load", "__version__"]
