"""What MLPClassifier users read after ``fit`` (``loss_curve_``, ``validation_scores_``, ...),
derived from a classifier's ``history_`` and layers, so loaded models have them too; and the
methods MLPClassifier derives from ``predict_proba`` (``predict``, ``predict_log_proba``)."""

import numpy as np


class MLPAttributesMixin:
    """MLPClassifier's fitted attributes on ``DBNClassifier`` and ``DBMClassifier``, as
    read-only properties, and its ``predict`` and ``predict_log_proba`` from their
    ``predict_proba``.

    The epochs of whole-network fine-tuning are MLPClassifier's iterations; the "output"
    phase (``output_n_iter``) trains the softmax layer alone before them and is left out,
    unless it is all that ran (``n_iter=0``).
    """

    def _network_epochs(self):
        phases = self.history_["phase"]
        network = [i for i, phase in enumerate(phases) if phase == "network"]
        return network or list(range(len(phases)))

    @property
    def loss_curve_(self):
        """list of float: the mean cross-entropy of every fine-tuning epoch."""
        return [self.history_["loss"][i] for i in self._network_epochs()]

    @property
    def loss_(self):
        """float: the mean cross-entropy of the last fine-tuning epoch."""
        return self.loss_curve_[-1]

    @property
    def best_loss_(self):
        """float or None: the lowest ``loss_curve_`` entry; None with a validation split
        (read ``best_validation_score_``), as in MLPClassifier with ``early_stopping=True``."""
        return None if "validation_error" in self.history_ else min(self.loss_curve_)

    @property
    def validation_scores_(self):
        """list of float or None: validation accuracy of every epoch (1 - validation error);
        None without a validation split (``validation_fraction=0``)."""
        if "validation_error" not in self.history_:
            return None
        return [1.0 - self.history_["validation_error"][i] for i in self._network_epochs()]

    @property
    def best_validation_score_(self):
        """float or None: the best ``validation_scores_`` entry, whose weights were kept."""
        scores = self.validation_scores_
        return None if scores is None else max(scores)

    @property
    def n_layers_(self):
        """int: layers including input and output, as in MLPClassifier."""
        return len(self.coefs_) + 1

    @property
    def n_outputs_(self):
        """int: output units, one per class (two for two classes, where MLPClassifier has one
        logistic unit)."""
        return int(np.shape(self.coefs_[-1])[1])

    @property
    def out_activation_(self):
        """str: "softmax", for two classes too (MLPClassifier uses "logistic" there)."""
        return "softmax"

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``, as MLPClassifier's.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Most probable class of each row, shape (n_samples,); ``X`` as in ``predict_proba``."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
