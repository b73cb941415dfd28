"""deepbelief: Restricted Boltzmann Machines and Deep Belief Networks for scikit-learn users."""

__version__ = "0.1.0"

from .autoencoder import DeepAutoencoder  # noqa: E402
from .classifier import DBNClassifier  # noqa: E402
from .dbn import DBN  # noqa: E402
from .io import load  # noqa: E402
from .rbm import RBM  # noqa: E402

__all__ = ["RBM", "DBN", "DBNClassifier", "DeepAutoencoder", "load", "__version__"]
