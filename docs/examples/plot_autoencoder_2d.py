"""
A deep autoencoder's 2-D map of the digits, beside PCA's
========================================================

Seed 002 (Hinton & Salakhutdinov, 2006): pretrain a stack of RBMs, unroll it into an encoder
and a decoder, and fine-tune the whole net to reconstruct its input through a code of two
numbers. The 2-D codes separate the digit classes far better than the first two principal
components do.

Small on purpose: a 784-500-250-2 net on the 3,000 training digits of the shipped sample, 30
epochs per RBM and 60 of fine-tuning, where the paper used 784-1000-500-250-2 on 60,000
images and far longer training (``deepbelief experiment autoencoder-2d`` runs that scale).
"""

# %%
# Train the autoencoder and PCA
# -----------------------------
import time

from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier

from deepbelief import DeepAutoencoder
from deepbelief.datasets import load_dataset
from deepbelief.viz import plot_codes_2d, plot_codes_side_by_side

data = load_dataset("mnist-sample")
X_train, y_train, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test

start = time.perf_counter()
ae = DeepAutoencoder([784, 500, 250, 2], pretrain_n_iter=30, n_iter=60, random_state=0)
ae.fit(X_train)
print(f"autoencoder trained in {time.perf_counter() - start:.1f} s")
pca = PCA(n_components=2, random_state=0).fit(X_train)

codes = {"deep autoencoder": ae.transform(X_test), "PCA": pca.transform(X_test)}

# %%
# How well do two numbers describe a digit?
# -----------------------------------------
# Two ways to score a 2-D map: how well the digit can be rebuilt from it (squared error summed
# over the 784 pixels, per test digit), and how often the 5 nearest training codes have the
# right label.
def error(X, X_rec):
    return float(((X - X_rec) ** 2).sum(axis=1).mean())


train_codes = {"deep autoencoder": ae.transform(X_train), "PCA": pca.transform(X_train)}
rebuilt = {"deep autoencoder": ae.reconstruct(X_test),
           "PCA": pca.inverse_transform(codes["PCA"])}
for name in codes:
    knn = KNeighborsClassifier(5).fit(train_codes[name], y_train)
    print(f"{name:16s} squared error per digit {error(X_test, rebuilt[name]):6.2f}   "
          f"5-NN accuracy on the codes {knn.score(codes[name], y_test):.2%}")

# %%
# The two maps
# ------------
plot_codes_side_by_side(codes, y_test, "codes_side_by_side.png",
                        title="2,000 test digits, coloured by label")

# %%
# Where some digits land
# ----------------------
# Ten test digits ringed on the autoencoder's map, with their reconstructions from two
# numbers each on the left.
rows = list(range(10))
plot_codes_2d(codes["deep autoencoder"], y_test, "codes_2d.png",
              title="deep autoencoder codes", highlight=rows, images=X_test,
              reconstructions=rebuilt["deep autoencoder"], image_shape=data.image_shape)
