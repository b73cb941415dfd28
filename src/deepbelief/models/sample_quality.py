"""Do samples look like digits? A shipped MNIST classifier's verdict on a set of 28x28 images.

The classifier (``data/digit_scorer.npz``, an MLP 784 -> 256 -> 11 made by
``bench/make_digit_scorer.py``) knows the ten digits and an eleventh class, "not a digit",
learnt from noise, flat images and blends of several digits. Its weights are NumPy arrays read
with ``allow_pickle=False``: loading them runs no code.
"""

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

SCORER_FILE = "data/digit_scorer.npz"
IMAGE_SHAPE = (28, 28)
N_PIXELS = 784


@dataclass(frozen=True)
class SampleQuality:
    """The scores of :func:`sample_quality` (see there for how to read them).

    Attributes
    ----------
    n_samples : int
    mean_confidence : float
        Mean over the samples of the top digit probability, in [0, 1].
    confident_fraction : float
        Share of samples whose top digit probability is at least ``threshold``.
    n_classes : int
        Digit classes present among the confident samples.
    class_counts : tuple of int
        Confident samples per digit 0-9.
    inception_score : float
        exp(E_x KL(p(y | x) || p(y))) over the eleven classes, from 1 up to 11.
    threshold : float
    min_count : int
        Confident samples a class needs to count as present.
    """

    n_samples: int
    mean_confidence: float
    confident_fraction: float
    n_classes: int
    class_counts: tuple
    inception_score: float
    threshold: float
    min_count: int

    def __str__(self):
        return (f"{self.n_samples} samples: mean confidence {self.mean_confidence:.3f}, "
                f"{self.confident_fraction:.0%} confident (p >= {self.threshold:g}), "
                f"{self.n_classes} {'class' if self.n_classes == 1 else 'classes'} "
                f"{list(self.class_counts)}, "
                f"inception score {self.inception_score:.2f}")

    def as_dict(self):
        """The scores as a dict of plain Python values (for JSON and reports)."""
        return {"n_samples": self.n_samples, "mean_confidence": self.mean_confidence,
                "confident_fraction": self.confident_fraction, "n_classes": self.n_classes,
                "class_counts": list(self.class_counts), "inception_score": self.inception_score,
                "threshold": self.threshold}


@lru_cache(maxsize=1)
def _scorer():
    path = resources.files(__package__).joinpath(SCORER_FILE)
    with path.open("rb") as f, np.load(f, allow_pickle=False) as stored:
        return tuple(stored[k].astype(np.float32) for k in
                     ("hidden_weight", "hidden_bias", "output_weight", "output_bias"))


def _check_samples(samples):
    X = np.asarray(samples)
    if X.dtype == bool:
        X = X.astype(np.float32)
    if X.dtype.kind not in "fiu":
        raise ValueError(f"samples must be numbers (pixels in [0, 1]), got dtype {X.dtype}.")
    if X.shape[-1:] == (N_PIXELS,) and X.ndim >= 2:
        X = X.reshape(-1, N_PIXELS)
    elif X.shape[-2:] == IMAGE_SHAPE and X.ndim >= 3:
        X = X.reshape(-1, N_PIXELS)
    else:
        raise ValueError(
            f"sample_quality scores 28x28 MNIST-like digits: samples must have shape "
            f"(n_samples, 784) or (n_samples, 28, 28), got shape {X.shape}. It has no verdict "
            "on other images."
        )
    if len(X) == 0:
        raise ValueError("samples is empty: pass at least one image.")
    X = X.astype(np.float32)
    if not np.isfinite(X).all():
        raise ValueError("samples contain NaN or infinity: pass pixel values in [0, 1].")
    low, high = float(X.min()), float(X.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(f"samples must hold pixels in [0, 1] (grey levels or 0/1), got values in "
                         f"[{low:g}, {high:g}]; divide 8-bit pixels by 255.")
    return X


def digit_probabilities(samples):
    """The shipped classifier's probabilities: ten digits and "not a digit" (the last column).

    Parameters
    ----------
    samples : array-like of shape (n_samples, 784) or (n_samples, 28, 28)
        Pixels in [0, 1], white digit on black as in MNIST.

    Returns
    -------
    ndarray of shape (n_samples, 11)
        Each row sums to one.
    """
    X = _check_samples(samples)
    W1, b1, W2, b2 = _scorer()
    logits = np.maximum(X @ W1.T + b1, 0) @ W2.T + b2
    logits = logits.astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def sample_quality(samples, threshold=0.9, min_fraction=0.01):
    """Score samples of a generative model of MNIST digits with a shipped classifier.

    A classifier trained on the 60,000 MNIST training digits (97.95% right on the 10,000 test
    digits) plus an eleventh class of non-digits (noise, flat images, blends of 2-4 digits)
    gives each sample probabilities p(y | x) for y = 0-9 and "not a digit".

    How to read it (reference values for 100 images, ``bench/make_digit_scorer.py`` and
    ``bench/sample_quality.py``; the full table is in docs/benchmarks.md, "Sample quality"):

    - ``mean_confidence``, the mean top digit probability: real test digits 0.98 (95% of them
      at 0.9 or more); uniform noise, random 0/1 pixels and the mean image 0.00; blends of two
      digits of different classes 0.33.
    - ``n_classes``, the digits present: a class counts when at least ``min_fraction`` of the
      samples (and at least one) are digits of it with probability >= ``threshold``. Real
      test digits: 10; noise: 0. Chains stuck in a few modes show few classes at a high
      confidence.
    - ``inception_score``, exp(E_x KL(p(y | x) || p(y))) over the eleven classes (Salimans et
      al. 2016, with this classifier): 1 when every sample is the same digit or the same kind
      of non-digit (noise: 1.00), near 10 for confident samples spread evenly over the ten
      digits (all 10,000 test digits: 9.53, the first 100: 8.83). A set
      that mixes non-digits with digits gets credit for the mix, so read it with the
      confidence.

    Limits: it knows only 28x28 MNIST-like digits (white on black, centred, in [0, 1]); other
    images get a ValueError or a meaningless verdict. A classifier rewards what it can
    classify, not likelihood: memorised training digits score perfectly, and a "digit" for
    this MLP may look poor to a person. Use it to compare samplers and models on MNIST, next to
    the pictures and the log-likelihood.

    Parameters
    ----------
    samples : array-like of shape (n_samples, 784) or (n_samples, 28, 28)
        Pixels in [0, 1] (grey means E[v | h] or 0/1 states). Arrays with more leading axes,
        e.g. (samples_per_chain, n_chains, 784), are scored as one set.
    threshold : float, default=0.9
        Top probability from which a sample counts as a confident digit.
    min_fraction : float, default=0.01
        Share of the samples a class needs among the confident ones to count as present.

    Returns
    -------
    SampleQuality
        ``mean_confidence``, ``confident_fraction``, ``n_classes``, ``class_counts``,
        ``inception_score``; ``str()`` of it is a one-line summary, ``as_dict()`` a dict.

    Raises
    ------
    ValueError
        Samples of another shape, with NaN or values outside [0, 1], or none at all.

    Examples
    --------
    >>> from deepbelief.datasets import load_mnist_sample
    >>> from deepbelief.models import sample_quality
    >>> q = sample_quality(load_mnist_sample().X[:100])
    >>> q.n_classes, q.mean_confidence > 0.9
    (10, True)
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}.")
    if not 0.0 <= min_fraction < 1.0:
        raise ValueError(f"min_fraction must be in [0, 1), got {min_fraction!r}.")
    p = digit_probabilities(samples)
    digits = p[:, :10]
    top = digits.max(axis=1)
    confident = top >= threshold
    counts = np.bincount(digits.argmax(axis=1)[confident], minlength=10)
    min_count = max(1, math.ceil(min_fraction * len(p)))
    return SampleQuality(
        n_samples=len(p),
        mean_confidence=float(top.mean()),
        confident_fraction=float(confident.mean()),
        n_classes=int((counts >= min_count).sum()),
        class_counts=tuple(int(n) for n in counts),
        inception_score=_inception_score(p),
        threshold=float(threshold),
        min_count=min_count,
    )


def _inception_score(p):
    """exp(mean_x KL(p(y | x) || p(y))) for class probabilities ``p`` (n_samples, n_classes)."""
    p = np.clip(p, 1e-12, 1.0)
    marginal = p.mean(axis=0)
    kl = (p * (np.log(p) - np.log(marginal))).sum(axis=1)
    return float(np.exp(kl.mean()))
