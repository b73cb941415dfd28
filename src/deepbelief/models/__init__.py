"""The estimators and their safe file format.

Importing this package registers every model class, so ``load`` can rebuild any of them.
"""

from .autoencoder import DeepAutoencoder
from .classifier import DBNClassifier
from .dbm import DBM
from .dbm_classifier import DBMClassifier
from .dbn import DBN
from .modelfile import load, save
from .rbm import RBM
from .sample_quality import SampleQuality, sample_quality

__all__ = ["RBM", "DBN", "DBM", "DBNClassifier", "DBMClassifier", "DeepAutoencoder", "load", "save",
           "sample_quality", "SampleQuality"]
