"""
RBM features for logistic regression, and digits nudged by one pixel
=====================================================================

Seed 000's story: a logistic regression on the hidden units of an RBM beats one on the raw
pixels, but both lose accuracy when the test digits move by a single pixel. Training on nudged
copies of the training digits gets most of it back.

This runs on the 5,000 MNIST digits that ship with deepbelief (3,000 to train, 2,000 to
test), with the recipe of ``deepbelief demo``: 500 hidden units, 10 epochs.
"""

# %%
# The data and the two pipelines
# -------------------------------
# ``load_dataset("mnist-sample")`` splits the shipped sample as seed 000 did (stratified,
# 3,000 / 2,000). Pixels are float32 in [0, 1], one flattened 28 x 28 image per row.
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from deepbelief import RBM
from deepbelief.datasets import load_dataset, nudge
from deepbelief.viz import plot_image_grid, plot_image_rows

data = load_dataset("mnist-sample")
X_train, y_train, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
print(f"{len(X_train)} training and {len(X_test)} test digits of {X_train.shape[1]} pixels")


def rbm_pipeline(n_iter):
    rbm = RBM(500, learning_rate=0.05, batch_size=50, n_iter=n_iter, momentum=(0.5, 0.9),
              random_state=0)
    return Pipeline([("rbm", rbm), ("logistic", LogisticRegression(max_iter=1000))])


start = time.perf_counter()
pipe = rbm_pipeline(n_iter=10).fit(X_train, y_train)
print(f"RBM + logistic regression trained in {time.perf_counter() - start:.1f} s")
raw = LogisticRegression(max_iter=1000).fit(X_train, y_train)

# %%
# What the RBM learned
# --------------------
# Each hidden unit's weights, drawn as an image: strokes and blobs, the parts digits are
# made of. (deepbelief's picture functions write PNG files and return their paths.)
rbm = pipe.named_steps["rbm"]
plot_image_grid(rbm.components_[:100], data.image_shape, "filters.png",
                title="100 of the 500 filters", n_cols=10)

# %%
# Nudged test digits
# ------------------
# :func:`~deepbelief.datasets.nudge` makes four copies of every test digit, moved one pixel
# up, down, left and right.
X_nudged, y_nudged = nudge(X_test, y_test, data.image_shape)
n = len(X_test)
plot_image_rows({"test digit": X_test[:8], "up": X_nudged[:8], "down": X_nudged[n:n + 8],
                 "left": X_nudged[2 * n:2 * n + 8], "right": X_nudged[3 * n:3 * n + 8]},
                data.image_shape, "nudged.png", title="One-pixel nudges")

# %%
# The fix: nudges in training too
# -------------------------------
# The same pipeline, trained on the 3,000 digits and their four nudged copies (15,000 images),
# for 3 epochs: about as many updates as the 10 epochs on 3,000 digits.
X_more, y_more = nudge(X_train, y_train, data.image_shape)
start = time.perf_counter()
robust = rbm_pipeline(n_iter=3).fit(np.vstack([X_train, X_more]), np.concatenate([y_train, y_more]))
print(f"trained on 15,000 images in {time.perf_counter() - start:.1f} s")

# %%
# Accuracy, all in this run
# -------------------------
scores = {
    "raw pixels": (raw.score(X_test, y_test), raw.score(X_nudged, y_nudged)),
    "RBM + LR": (pipe.score(X_test, y_test), pipe.score(X_nudged, y_nudged)),
    "RBM + LR, nudges in training": (robust.score(X_test, y_test),
                                     robust.score(X_nudged, y_nudged)),
}
for name, (plain, nudged) in scores.items():
    print(f"{name:30s} test {plain:.2%}   nudged test {nudged:.2%}")

fig, ax = plt.subplots(figsize=(7, 3.2))
names = list(scores)
ax.barh([i + 0.2 for i in range(3)], [s[0] for s in scores.values()], 0.4, label="test digits")
ax.barh([i - 0.2 for i in range(3)], [s[1] for s in scores.values()], 0.4,
        label="nudged one pixel")
ax.set_yticks(range(3), names)
ax.set_xlim(0.7, 1.0)
ax.set_xlabel("accuracy")
ax.legend(loc="lower right")
fig.tight_layout()
