"""
A deep belief net classifier
============================

Seeds 001 and 003: stack RBMs, train them greedily on the images alone, put a softmax layer on
top and fine-tune the whole network on the labels. :class:`~deepbelief.DBNClassifier` does all
of it in ``fit``; here it is compared, in the same run, with scikit-learn's
``MLPClassifier`` with the same hidden layers (its defaults: ReLU units, Adam, no pretraining)
and a logistic regression.

Only the layer sizes are given: the defaults (``n_iter="auto"``: about 3,000 updates per RBM
and for the fine-tuning) are what a user gets. 3,000 training digits of the shipped sample.
"""

# %%
# Train the three models
# ----------------------
import time

from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from deepbelief import DBNClassifier
from deepbelief.datasets import load_dataset
from deepbelief.viz import plot_confusion_matrix, plot_training_curves

data = load_dataset("mnist-sample")
X_train, y_train, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test

models = {
    "DBNClassifier((500, 500))": DBNClassifier((500, 500), random_state=0),
    "MLPClassifier((500, 500))": MLPClassifier((500, 500), random_state=0),
    "LogisticRegression": LogisticRegression(max_iter=1000),
}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    print(f"{name:27s} test accuracy {model.score(X_test, y_test):.2%}  ({seconds:.1f} s)")

# %%
# What was trained
# ----------------
# ``fit`` pretrained two RBMs (784-500 and 500-500), kept as ``dbn_``, then fine-tuned
# 784-500-500-10 with Adam. ``history_`` records every fine-tuning epoch; ``stopping_`` says
# how fine-tuning ended.
clf = models["DBNClassifier((500, 500))"]
print("pretrained RBMs:", [f"{r.n_features_in_}-{r.n_components}" for r in clf.dbn_.rbms_])
print("RBM epochs:", [r.n_iter_ for r in clf.dbn_.rbms_], "| fine-tuning epochs:", clf.n_iter_)
print(clf.stopping_["reason"])

plot_training_curves(clf.history_, "curves.png", title="DBNClassifier fine-tuning")

# %%
# Which digits it confuses
# ------------------------
plot_confusion_matrix(y_test, clf.predict(X_test), "confusion.png",
                      title="DBNClassifier on 2,000 test digits")
# sphinx_gallery_thumbnail_number = 2
