"""The estimators, their safe file format, and likelihoods by annealed importance sampling.

Importing this package registers every model class, so ``load`` can rebuild any of them.
"""

from .autoencoder import DeepAutoencoder
from .classifier import DBNClassifier
from .dbm import DBM
from .dbm_classifier import DBMClassifier
from .dbn import DBN
from .likelihood import binarize, dbn_log_likelihood_bound, rbm_log_likelihood, rbm_log_partition
from .modelfile import load, save
from .rbm import RBM
from .sample_quality import SampleQuality, sample_quality

__all__ = ["RBM", "DBN", "DBM", "DBNClassifier", "DBMClassifier", "DeepAutoencoder", "load", "save",
           "sample_quality", "SampleQuality",
           "binarize", "rbm_log_partition", "rbm_log_likelihood", "dbn_log_likelihood_bound"]
