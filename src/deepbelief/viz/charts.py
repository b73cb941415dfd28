"""Charts: training curves, 2-D code maps, confusion matrices (matplotlib, PNG out).

Like ``plots``, every function takes arrays, writes one PNG atomically and returns its path.
"""

from numbers import Real

import numpy as np

from .figures import as_images, new_figure, save_figure, show_grid, tiles

_AXIS_LABELS = {
    "time": "seconds per epoch",
    "learning_rate": "learning rate",
    "loss": "loss",
}


def _numeric_series(values, n):
    """``values`` as floats (None -> NaN) if it is a list of ``n`` numbers, else None."""
    if not isinstance(values, (list, tuple, np.ndarray)) or len(values) != n:
        return None
    if not all(v is None or (isinstance(v, Real) and not isinstance(v, bool)) for v in values):
        return None
    if all(v is None for v in values):
        return None
    return np.array([np.nan if v is None else float(v) for v in values])


def _epochs(history):
    if "epoch" in history:
        return np.asarray(history["epoch"], dtype=float)
    lengths = [len(v) for v in history.values() if isinstance(v, (list, tuple, np.ndarray))]
    return np.arange(1, max(lengths, default=0) + 1, dtype=float)


def _plot_rbm_history(fig, history):
    """Reconstruction error of every mini-batch, and each epoch's mean at the epoch's end."""
    ax = fig.subplots()
    batches = [list(b) for b in history["batch_reconstruction_error"]]
    flat = np.array([e for b in batches for e in b], dtype=float)
    ends = np.cumsum([len(b) for b in batches])
    ax.plot(np.arange(1, flat.size + 1), flat, color="tab:blue", alpha=0.35, lw=0.8,
            label="mini-batch")
    if "reconstruction_error" in history:
        means = np.asarray(history["reconstruction_error"], dtype=float)[: ends.size]
        ax.plot(ends[: means.size], means, "o-", color="tab:blue", lw=2, ms=4, label="epoch mean")
    ax.set_xlabel("mini-batch")
    ax.set_ylabel("reconstruction error (MSE per pixel)")
    ax.grid(alpha=0.3)
    ax.legend()
    sizes = {len(b) for b in batches}
    if len(sizes) == 1 and sizes != {0}:
        per_epoch = sizes.pop()
        to_epochs = (lambda batch: batch / per_epoch, lambda epoch: epoch * per_epoch)
        ax.secondary_xaxis("top", functions=to_epochs).set_xlabel("epoch")


def _plot_layer_histories(fig, histories):
    """One reconstruction-error line per RBM of a DBN, per-batch errors faint behind."""
    ax = fig.subplots()
    colors = [f"C{i % 10}" for i in range(len(histories))]
    for i, (history, color) in enumerate(zip(histories, colors)):
        if not isinstance(history, dict) or "reconstruction_error" not in history:
            raise ValueError(f"history[{i}] must be an RBM history with 'reconstruction_error'.")
        epochs = _epochs(history)
        for e, errors in zip(epochs, history.get("batch_reconstruction_error", [])):
            errors = np.asarray(errors, dtype=float)
            x = e - 1 + np.arange(1, errors.size + 1) / max(errors.size, 1)
            ax.plot(x, errors, color=color, alpha=0.25, lw=0.7)
        ax.plot(epochs, history["reconstruction_error"], "o-", color=color, lw=2, ms=4,
                label=f"layer {i + 1}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("reconstruction error (MSE per unit)")
    ax.grid(alpha=0.3)
    ax.legend(title="RBM")


def _plot_epoch_series(fig, history):
    """Every numeric per-epoch series; the *error series share a panel, the rest get their own."""
    epochs = _epochs(history)
    series = {}
    for key, values in history.items():
        if key != "epoch":
            numbers = _numeric_series(values, len(epochs))
            if numbers is not None:
                series[key] = numbers
    if not series:
        raise ValueError(
            f"history has no numeric per-epoch series to plot (keys: {sorted(history)})."
        )
    errors = [k for k in series if "error" in k]  # train and validation error on one axis
    panels = ([errors] if errors else []) + [[k] for k in series if k not in errors]
    fig.set_size_inches(7.5, 1.2 + 2.3 * len(panels))
    axes = np.atleast_1d(fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0])
    for ax, keys in zip(axes, panels):
        for key in keys:
            ax.plot(epochs, series[key], "o-", ms=3, lw=1.6, label=key.replace("_", " "))
        label = _AXIS_LABELS.get(keys[0], keys[0].replace("_", " "))
        ax.set_ylabel("error" if len(keys) > 1 else label)
        ax.grid(alpha=0.3)
        if len(keys) > 1:
            ax.legend()
        if keys[0] == "learning_rate" and np.nanmin(series[keys[0]]) > 0:
            ax.set_yscale("log")
    phases = history.get("phase")
    if isinstance(phases, (list, tuple)) and len(phases) == len(epochs):
        for i in range(1, len(phases)):
            if phases[i] != phases[i - 1]:
                for ax in axes:
                    ax.axvline(epochs[i] - 0.5, color="gray", ls=":", lw=1)
                axes[0].annotate(f"{phases[i]} \u2192", (epochs[i] - 0.5, 1), xytext=(3, -12),
                                 xycoords=("data", "axes fraction"), textcoords="offset points",
                                 fontsize=9, color="gray")
    axes[-1].set_xlabel("epoch")


def plot_training_curves(history, path, title=None):
    """Training curves from a ``history_``.

    Parameters
    ----------
    history : dict or list of dict
        - an RBM's ``history_`` (with ``batch_reconstruction_error``): the error of every
          mini-batch against the batch number, with each epoch's mean;
        - a DBN's ``history_`` (one RBM history per layer): one line per layer against epochs;
        - any other dict of per-epoch lists (``DBNClassifier`` / ``DeepAutoencoder``
          ``history_``): every numeric series, one panel each, except that series named
          ``*error*`` share a panel (train against validation). Changes of ``phase`` are marked.
    path : str or Path
    title : str, default=None

    Returns
    -------
    path : pathlib.Path
    """
    fig = new_figure(7.5, 4.5)
    if isinstance(history, (list, tuple)):
        if not history:
            raise ValueError("history is an empty list; expected one RBM history per layer.")
        _plot_layer_histories(fig, history)
    elif isinstance(history, dict):
        if history.get("batch_reconstruction_error"):
            _plot_rbm_history(fig, history)
        else:
            _plot_epoch_series(fig, history)
    else:
        raise TypeError(
            f"history must be a dict of per-epoch lists (a model's history_) or a list of them "
            f"(a DBN's history_), got {type(history).__name__}."
        )
    if title:
        fig.suptitle(title, fontsize=13)
    return save_figure(fig, path)


# ---------------------------------------------------------------- 2-D codes
def _check_codes(codes, labels, name="codes"):
    codes = np.asarray(codes, dtype=float)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(
            f"{name} must have shape (n_samples, 2), got {codes.shape}; reduce them to two "
            "dimensions first (a 2-unit code layer, or sklearn.decomposition.PCA(2))."
        )
    if labels is not None and len(labels) != len(codes):
        raise ValueError(f"labels has {len(labels)} entries but {name} has {len(codes)} rows.")
    return codes


def _scatter_by_label(ax, codes, labels):
    """Points coloured by label: a legend for up to 10 classes, a colour bar beyond."""
    if labels is None:
        ax.scatter(codes[:, 0], codes[:, 1], s=6, alpha=0.6, lw=0, color="tab:blue")
        return None
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if len(classes) > 10:
        return ax.scatter(codes[:, 0], codes[:, 1], c=labels, s=6, alpha=0.7, lw=0, cmap="viridis")
    for i, label in enumerate(classes):
        rows = labels == label
        ax.scatter(codes[rows, 0], codes[rows, 1], s=6, alpha=0.6, lw=0, color=f"C{i}",
                   label=str(label))
    return None


def _strip_columns(n_samples, highlight, image_shape, named_arrays):
    """The given image arrays, each cut down to the highlighted rows: [(name, images)]."""
    columns = []
    for name, array in named_arrays.items():
        if array is None:
            continue
        if highlight is None or image_shape is None:
            raise ValueError("images and reconstructions need highlight and image_shape.")
        array = as_images(array, image_shape, name)
        if len(array) == n_samples and n_samples != len(highlight):
            array = array[highlight]
        elif len(array) != len(highlight):
            raise ValueError(
                f"{name}s must have one row per sample ({n_samples}) or per highlighted "
                f"point ({len(highlight)}), got {len(array)}."
            )
        columns.append((name, array))
    return columns


def _draw_strip(ax, columns, image_shape):
    """The highlighted digits one per row, numbered, with their reconstructions beside them."""
    n_pixels = image_shape[0] * image_shape[1]
    pairs = np.stack([images for _, images in columns], axis=1).reshape(-1, n_pixels)
    grid, n_rows = tiles(pairs, image_shape, len(columns), None)
    show_grid(ax, grid, image_shape, [str(i + 1) for i in range(n_rows)])
    width = image_shape[1]
    ax.set_xticks([c * (width + 1) + (width - 1) / 2 for c in range(len(columns))])
    ax.set_xticklabels([name for name, _ in columns], rotation=30, ha="left", fontsize=9)
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", length=0)


def plot_codes_2d(codes, labels, path, title=None, highlight=None, images=None,
                  reconstructions=None, image_shape=None):
    """Scatter of 2-D codes coloured by label, some points ringed and numbered with their digits.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, 2)
        E.g. a deep autoencoder's codes of the test set.
    labels : ndarray of shape (n_samples,) or None
    path : str or Path
    title : str, default=None
    highlight : array-like of int, default=None
        Rows of ``codes`` to ring and number 1, 2, ...
    images, reconstructions : ndarray, default=None
        The highlighted digits and their reconstructions, drawn in a strip on the left: either
        one row per sample (rows ``highlight`` are taken) or one per highlighted point.
        Need ``highlight`` and ``image_shape``.
    image_shape : (int, int), default=None

    Returns
    -------
    path : pathlib.Path
    """
    codes = _check_codes(codes, labels)
    highlight = None if highlight is None else np.asarray(highlight, dtype=int).reshape(-1)
    if highlight is not None and highlight.size and not (
        -len(codes) <= highlight.min() and highlight.max() < len(codes)
    ):
        raise ValueError(f"highlight holds rows outside 0..{len(codes) - 1}: {highlight.tolist()}.")
    columns = _strip_columns(len(codes), highlight, image_shape,
                             {"digit": images, "reconstruction": reconstructions})
    fig = new_figure(10 if columns else 8, 7.5)
    if columns:
        ax_strip, ax = fig.subplots(1, 2, width_ratios=[0.9 * len(columns), 6])
        _draw_strip(ax_strip, columns, image_shape)
    else:
        ax = fig.subplots()
    colorbar_source = _scatter_by_label(ax, codes, labels)
    if highlight is not None:
        points = codes[highlight]
        ax.scatter(points[:, 0], points[:, 1], s=140, facecolors="none", edgecolors="black", lw=1.6)
        for number, (x, y) in enumerate(points, start=1):
            ax.annotate(str(number), (x, y), xytext=(7, 7), textcoords="offset points",
                        fontsize=10, fontweight="bold",
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    if colorbar_source is not None:
        fig.colorbar(colorbar_source, ax=ax, label="label")
    elif labels is not None:
        ax.legend(title="label", markerscale=3, fontsize=9)
    ax.set_xlabel("code 1")
    ax.set_ylabel("code 2")
    ax.grid(alpha=0.2)
    if title:
        fig.suptitle(title, fontsize=13)
    return save_figure(fig, path)


def plot_codes_side_by_side(panels, labels, path, title=None):
    """Several 2-D embeddings of the same samples next to each other, coloured by label.

    Parameters
    ----------
    panels : dict of str to ndarray of shape (n_samples, 2)
        Panel title to codes, e.g. ``{"deep autoencoder": codes, "PCA": pca_codes}``.
    labels : ndarray of shape (n_samples,) or None
    path : str or Path
    title : str, default=None

    Returns
    -------
    path : pathlib.Path
    """
    if not panels:
        raise ValueError("panels must hold at least one named array of 2-D codes.")
    checked = {name: _check_codes(codes, labels, f"panels[{name!r}]")
               for name, codes in panels.items()}
    fig = new_figure(0.8 + 4.6 * len(checked), 5.0)
    axes = np.atleast_1d(fig.subplots(1, len(checked), squeeze=False)[0])
    colorbar_source = None
    for ax, (name, codes) in zip(axes, checked.items()):
        colorbar_source = _scatter_by_label(ax, codes, labels)
        ax.set_title(name, fontsize=12)
        ax.set_xlabel("component 1")
        ax.set_ylabel("component 2")
        ax.grid(alpha=0.2)
    if colorbar_source is not None:
        fig.colorbar(colorbar_source, ax=list(axes), label="label")
    elif labels is not None:
        axes[-1].legend(title="label", markerscale=3, loc="center left", bbox_to_anchor=(1.02, 0.5))
    if title:
        fig.suptitle(title, fontsize=13)
    return save_figure(fig, path)


def plot_confusion_matrix(y_true, y_pred, path, title=None, labels=None):
    """Counts of true against predicted labels, with the accuracy in the title.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    path : str or Path
    title : str, default=None
        "Confusion matrix" when None.
    labels : array-like, default=None
        Order of the classes; every label seen in either array when None.

    Returns
    -------
    path : pathlib.Path
    """
    from sklearn.metrics import confusion_matrix

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) != len(y_pred) or len(y_true) == 0:
        raise ValueError(f"y_true and y_pred must hold the same number (> 0) of labels, got "
                         f"{len(y_true)} and {len(y_pred)}.")
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    counts = confusion_matrix(y_true, y_pred, labels=labels)
    n = len(labels)
    fig = new_figure(max(4.5, 0.55 * n + 2.5), max(4.0, 0.55 * n + 1.8))
    ax = fig.subplots()
    shown = ax.imshow(counts, cmap="Blues", interpolation="nearest")
    threshold = counts.max() / 2
    for (i, j), count in np.ndenumerate(counts):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=9 if n <= 12 else 7,
                    color="white" if count > threshold else "black")
    names = [str(label) for label in labels]
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    fig.colorbar(shown, ax=ax, label="count", shrink=0.85)
    accuracy = float(np.mean(y_true == y_pred))
    ax.set_title(f"{title or 'Confusion matrix'}\naccuracy {accuracy:.1%} on {len(y_true)} samples",
                 fontsize=12)
    return save_figure(fig, path)


# ---------------------------------------------------------------- animations
