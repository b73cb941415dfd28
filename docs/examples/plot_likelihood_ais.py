"""
Log-likelihood by annealed importance sampling
==============================================

An RBM's probability of an image needs its partition function Z, a sum over every joint state
of the units: far too many to enumerate. Annealed importance sampling (AIS, Salakhutdinov &
Murray 2008) estimates log Z by moving samples from a simple base model to the RBM through
thousands of intermediate models. With it, the test log-likelihood in nats per image says how
good a generative model is.

First AIS is checked against the exact log Z of an RBM small enough to enumerate; then CD-1
and persistent CD (PCD) are compared on binarized digits. Small on purpose: 3,000 training
digits of the shipped sample, 100 hidden units, 100 epochs, and AIS with 5,000 intermediate
distributions instead of the standard 14,501; the benchmark recipe (-85.84 nats on MNIST,
:doc:`/benchmarks`) trains 500 units for 300 epochs on 60,000 images.
"""

# %%
# Binary data
# -----------
# Likelihoods under Bernoulli units are defined for 0/1 pixels:
# :func:`~deepbelief.models.binarize` turns each grey pixel on with probability its value.
import time

import numpy as np
from scipy.special import logsumexp

from deepbelief import RBM
from deepbelief.datasets import load_dataset
from deepbelief.models import binarize
from deepbelief.viz import plot_image_grid

data = load_dataset("mnist-sample")
X_train = binarize(data.X_train, random_state=0)
X_test = binarize(data.X_test, random_state=1)

# %%
# AIS against the exact answer
# ----------------------------
# With 16 hidden units the 2^16 hidden states can be summed exactly:
# log Z = log sum_h exp(c.h) prod_i (1 + exp(b_i + (W^T h)_i)).
small = RBM(16, n_iter=20, random_state=0).fit(X_train)
W, b, c = small.components_, small.intercept_visible_, small.intercept_hidden_
h = (np.arange(2 ** 16)[:, None] >> np.arange(16)) & 1  # every hidden state, (65536, 16)
exact = logsumexp(h @ c + np.logaddexp(0, h @ W + b).sum(axis=1))
start = time.perf_counter()
estimate = small.log_partition(base_data=X_train, n_betas=5000, random_state=0)
print(f"exact log Z {exact:.4f}; AIS {estimate.log_z:.4f} +- {estimate.std:.4f} "
      f"({estimate.n_betas:,} betas, {estimate.n_runs} runs, {time.perf_counter() - start:.1f} s)")

# %%
# CD-1 against persistent CD
# --------------------------
# CD-1 (the default) learns good features but a poor density model. PCD keeps its Gibbs
# chains running between updates; with a learning rate falling linearly to zero (and here
# mini-batches of 20, for more updates on this small set) it reaches a higher likelihood.
# Each model's test and training log-likelihoods share one AIS estimate of its log Z.
models = {
    "CD-1": RBM(100, n_iter=100, random_state=0),
    "PCD": RBM(100, method="pcd", learning_rate=0.05, learning_rate_decay="linear",
               momentum=0.0, weight_decay=2e-4, batch_size=20, n_iter=100, random_state=0),
}
for name, rbm in models.items():
    start = time.perf_counter()
    rbm.fit(X_train)
    log_z = rbm.log_partition(base_data=X_train, n_betas=5000, random_state=0)
    print(f"{name:5s} log Z {log_z.log_z:8.2f} +- {log_z.std:.2f}   test log-likelihood "
          f"{rbm.log_likelihood(X_test, log_z):8.2f} nats per digit  "
          f"(train {rbm.log_likelihood(X_train, log_z):.2f}; {time.perf_counter() - start:.0f} s)")

# %%
# Samples
# -------
# Digits drawn by 1,000 Gibbs steps from random pixels (the visible means of the last step):
# what each model believes digits look like. PCD trained with such chains, CD-1 never ran
# one longer than a step.
for name, rbm in models.items():
    plot_image_grid(rbm.sample(n_samples=30, n_steps=1000), data.image_shape,
                    f"samples_{name}.png", title=f"{name}: samples", n_cols=10, normalize=None)
# sphinx_gallery_thumbnail_number = 2
