"""DBM and DBMClassifier are real scikit-learn estimators: the estimator checks, clone, search."""

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import validate_data

from deepbelief import DBM, DBMClassifier
from deepbelief._core import blowup

FAST = dict(pretrain_n_iter=2, n_iter=2, n_chains=10, k=1, n_mean_field=3, random_state=0,
            device="cpu")


class RangeUncheckedDBM(DBM):
    """The DBM without its [0, 1] (fit) and 0/1 (score_samples) input checks.

    scikit-learn's checks feed data such as ``X - X.min()``, which Bernoulli units reject by
    design (tested in test_dbm.py); this twin runs the whole contract on the same code path.
    """

    def _validate_X(self, X, reset=False, fitting=False, binary=False):
        return validate_data(self, X, reset=reset, accept_sparse="csr", dtype=(np.float32, np.float64))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = False
        return tags


class RangeUncheckedDBMClassifier(DBMClassifier):
    """DBMClassifier training a ``RangeUncheckedDBM``, without its own [0, 1] check.

    It trains on the checks' standardized blobs but predicts on them clipped to [0, 1], so the
    checks' training accuracy says nothing of it (``poor_score``); test_dbm_classifier.py
    tests the accuracy on data in [0, 1].
    """

    _dbm_class = RangeUncheckedDBM

    def _check_range(self, X):
        pass

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = False
        tags.classifier_tags.poor_score = True
        return tags


@parametrize_with_checks([
    RangeUncheckedDBM((None, 4, 3), **FAST),
    RangeUncheckedDBM((None, 3, 3, 2), pretrain=False, precision="bfloat16", **FAST),
    RangeUncheckedDBMClassifier((6, 4), pretrain_n_iter=1, dbm_n_iter=1, n_iter=10, batch_size=10,
                                learning_rate=0.01, random_state=0, device="cpu"),
])
def test_sklearn_estimator_checks(estimator, check, monkeypatch):
    # The checks' data (values up to about 9) makes Bernoulli pretraining blow up, which the
    # RBMs' blow-up check rightly stops (tested in test_blowup.py); the contract runs without it.
    monkeypatch.setattr(blowup, "WEIGHT_LIMIT", float("inf"))
    check(estimator)


def test_clone_keeps_every_parameter():
    dbm = DBM((None, 7, 5, 3), pretrain=False, pretrain_n_iter=[3, 4, 5], pretrain_learning_rate=0.02,
              pretrain_momentum=(0.4, 0.8), pretrain_weight_decay=1e-3, n_iter=9, learning_rate=0.002,
              learning_rate_decay=0.9, momentum=0.3, weight_decay=0.0, batch_size=7, n_chains=11,
              k=2, n_mean_field=4, warm_start=True, random_state=3, device="cpu",
              precision="float32", n_jobs=1, verbose=2)
    assert clone(dbm).get_params() == dbm.get_params()
    clf = DBMClassifier((9, 4), pretrain=False, dbm_n_iter=3, dbm_learning_rate=0.01, dropout=0.2)
    assert clone(clf).get_params() == clf.get_params()


def test_grid_search_scores_dbms_by_their_bound():
    rng = np.random.RandomState(0)
    protos = rng.rand(3, 10) < 0.5
    X = (protos[rng.randint(3, size=120)] ^ (rng.rand(120, 10) < 0.05)).astype(float)
    grid = GridSearchCV(DBM((None, 6, 4), **{**FAST, "n_iter": 5}),
                        {"learning_rate": [1e-4, 0.01]}, cv=2).fit(X)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    assert grid.best_estimator_.score(X) == grid.best_estimator_.score_samples(X).mean()
