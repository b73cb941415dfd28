"""
Inside an RBM: filters, Gibbs samples and the repair of damaged digits
======================================================================

Seeds 001 and 004 look inside trained RBMs: the weights of single hidden units drawn as images,
what a Gibbs chain does when it starts at a real digit, and how a model fills in a digit with a
piece blanked out. As in ``deepbelief experiment rbm-anatomy``, a small RBM (784-50) and a large
one (784-500, the default size) side by side, both with the defaults otherwise (CD-1,
``n_iter="auto"``: 100 epochs on these 3,000 training digits of the shipped sample).
"""

# %%
# Train
# -----
import time

import numpy as np

from deepbelief import RBM
from deepbelief.datasets import load_dataset
from deepbelief.viz import damage, plot_image_grid, plot_image_rows, plot_training_curves, repair

data = load_dataset("mnist-sample")
X_train, X_test, shape = data.X_train, data.X_test, data.image_shape

rbms = {}
for n_components in (50, 500):
    start = time.perf_counter()
    rbm = RBM(n_components, random_state=0).fit(X_train)
    errors = rbm.history_["reconstruction_error"]
    print(f"784-{n_components}: {rbm.n_iter_} epochs in {time.perf_counter() - start:.1f} s; "
          f"reconstruction error per pixel {errors[0]:.4f} after the first, {errors[-1]:.4f} "
          "after the last")
    rbms[f"784-{n_components}"] = rbm
plot_training_curves(rbms["784-500"].history_, "errors.png", title="784-500 RBM")

# %%
# Filters
# -------
# ``components_[j]`` holds the weights from every pixel to hidden unit ``j``. The small RBM's
# units must each describe much of a digit; the large one's pick out strokes.
plot_image_grid(rbms["784-50"].components_, shape, "filters_50.png", title="784-50: all 50 filters",
                n_cols=10)
plot_image_grid(rbms["784-500"].components_[:100], shape, "filters_500.png",
                title="784-500: 100 of the 500 filters", n_cols=10)

# %%
# Gibbs chains from test digits
# -----------------------------
# :meth:`~deepbelief.RBM.gibbs` runs v -> h -> v steps and returns the last binary visible
# sample; :meth:`~deepbelief.RBM.sample` runs chains from random pixels and returns the visible
# means of the last step. CD-1 learns its weights from chains one step long, so nothing makes
# its longer chains stay on digits: look at what they do after 10, 100 and 1,000 steps. (A
# model trained by persistent CD draws digits from random starts: see
# :ref:`sphx_glr_auto_examples_plot_likelihood_ais.py`.)
rows = {"test digit": X_test[:10]}
for name, rbm in rbms.items():
    v, done = X_test[:10], 0
    for steps in (1, 10, 100, 1000):
        v, done = rbm.gibbs(v, n_steps=steps - done), steps
        rows[f"{name}, step {steps:,}"] = v
    rows[f"{name}, random start, 1,000 steps"] = rbm.sample(n_samples=10, n_steps=1000)
plot_image_rows(rows, shape, "gibbs.png", title="Gibbs chains")

# %%
# Repairing damaged digits
# ------------------------
# :func:`~deepbelief.viz.damage` blanks a square covering a quarter of each digit;
# :func:`~deepbelief.viz.repair` passes the images up to the hidden units and back down.
# With ``keep``, the intact pixels are put back after every pass, so the model fills in only
# the hole. The score is the squared error per blanked pixel against the original digit,
# over 200 test digits. The small RBM fills holes better than the large one, as seed 004's
# experiment found on all of MNIST (:doc:`/benchmarks`: 0.114 against 0.163).
originals = X_test[:200]
damaged, mask = damage(originals, shape, "occlude", 0.25, random_state=0, return_mask=True)


def blanked_error(images):
    return float(np.mean((images - originals)[mask] ** 2))


rows = {"original": originals[:10], "damaged": damaged[:10]}
print(f"error per blanked pixel, damaged: {blanked_error(damaged):.3f}")
for name, rbm in rbms.items():
    for label, repaired in ((f"{name}, 1 pass", repair(rbm, damaged)),
                            (f"{name}, 10 passes, intact kept",
                             repair(rbm, damaged, n_steps=10, keep=~mask))):
        print(f"error per blanked pixel, {label}: {blanked_error(repaired):.3f}")
        rows[label] = repaired[:10]
plot_image_rows(rows, shape, "repair.png", title="Repairing damaged digits")
# sphinx_gallery_thumbnail_number = 5
