"""What ``n_iter="auto"`` means: a budget of parameter updates, not of epochs.

A fixed number of epochs gives 13 updates an epoch on 1,257 images and 600 on 60,000, so
it is too short for small data or wasteful on large. Counting updates, like the iterations of
scikit-learn's ``MLPClassifier``, trains both well: with batch 100, "auto" is 200 epochs for
1,000-1,300 images, 100 for 3,000, 30 for 10,000 and 10 for 60,000 (measured in
``bench/defaults.py``).
"""

import math

AUTO_UPDATES = 3000  # parameter updates "auto" aims for
AUTO_MIN_EPOCHS = 10  # never fewer epochs than this (large data)
AUTO_MAX_EPOCHS = 200  # nor more than this (tiny data)


def auto_epochs(n_samples, batch_size):
    """Epochs that give about ``AUTO_UPDATES`` updates, within [10, 200]."""
    n_batches = math.ceil(n_samples / max(1, min(batch_size, n_samples)))
    return min(AUTO_MAX_EPOCHS, max(AUTO_MIN_EPOCHS, math.ceil(AUTO_UPDATES / n_batches)))


def resolve_n_iter(n_iter, n_samples, batch_size):
    """``n_iter`` as a number of epochs: itself, or ``auto_epochs`` for "auto"."""
    if isinstance(n_iter, str) and n_iter == "auto":
        return auto_epochs(n_samples, batch_size)
    return int(n_iter)
