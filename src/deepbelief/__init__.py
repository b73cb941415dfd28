"""deepbelief: Restricted Boltzmann Machines and Deep Belief Networks for scikit-learn users."""

from .rbm import RBM
from .io import load

__version__ = "0.1.0"
__all__ = ["RBM", "load", "__version__"]
