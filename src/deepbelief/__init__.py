"""deepbelief: Restricted Boltzmann Machines and Deep Belief Networks for scikit-learn users."""

from ._version import __version__
from .models import DBN, RBM, DBNClassifier, DeepAutoencoder, load

__all__ = ["RBM", "DBN", "DBNClassifier", "DeepAutoencoder", "load", "__version__"]
