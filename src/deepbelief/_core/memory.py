"""Refuse, before allocating, what cannot fit in memory.

Sizes in the billions (``RBM(n_components=10**10)``, ``rbm.sample(10**11)``, AIS with
``n_runs=10**12``) would otherwise fail deep inside the allocator or swap for hours. Every
``fit`` and ``partial_fit``, every ``sample`` and every AIS run first estimates the bytes of
its largest buffers with a function below and calls ``check_fits``, which raises
``MemoryError`` with the figure and the fix.

The estimates are lower bounds, counted in the bytes of each dtype (float64 8, float32 4,
bfloat16 2, int8 1) for the buffers that grow with the sizes asked for: weights and their
copies, momentum buffers, persistent chains, a mini-batch's activations, the samples returned.
The data, torch's own buffers and temporaries are left out, so a request that passes may
still run short; one refused could never have run.

The rule: refuse when the estimate exceeds the total memory the work can use: this machine's
physical memory, plus the GPU's own memory for work on CUDA. Total, not what is free at the
moment: what this machine could hold is never refused.
"""

import os

import torch

FLOAT64, FLOAT32 = 8, 4
# Bytes per value of the matrix products for each ``precision``; "auto" may pick bfloat16.
PRODUCT_BYTES = {"auto": 2, "float32": 4, "bfloat16": 2, "int8": 1}
# The fitted float32 weights, the training copy and its momentum: 12 bytes a weight (at
# initialisation, NumPy's float64 draw and its float32 copy hold as much).
TRAINING_BYTES_PER_WEIGHT = 3 * FLOAT32
# A fitted RBM of a stack keeps its weights and their momentum once trained.
KEPT_BYTES_PER_WEIGHT = 2 * FLOAT32
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def total_memory(device="cpu"):
    """Bytes of memory of ``device``: the GPU's for CUDA, else this machine's physical memory
    (None when the system does not say; nothing is refused then)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return None


def format_bytes(n):
    """``n`` bytes in binary units: "512 B", "23.4 GiB", "29.8 TiB"."""
    if n < 1024:
        return f"{int(n)} B"
    value = float(n)
    for unit in _UNITS[1:]:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"


def check_fits(n_bytes, request, purpose, fix, device="cpu"):
    """MemoryError when ``n_bytes`` exceed the memory the work can use: this machine's, plus
    the GPU's for work on CUDA (the fitted arrays are NumPy arrays on the host).

    The message reads "{request} needs at least {n_bytes} for {purpose}; this machine has
    {memory}: {fix}.", e.g. "RBM(n_components=10000000000, batch_size=100) on 784 features needs
    at least 94.8 TiB for its weights, momentum and batches; this machine has 23.4 GiB of
    memory: use fewer hidden units (n_components) or a smaller batch_size."
    """
    device = torch.device(device)
    total = total_memory("cpu")
    where = "this machine has"
    if device.type == "cuda":
        gpu = total_memory(device)
        total = None if total is None or gpu is None else total + gpu
        where = f"this machine and its GPU ({device}) have"
    if total is None or n_bytes <= total:
        return
    raise MemoryError(f"{request} needs at least {format_bytes(n_bytes)} for {purpose}; {where} "
                      f"{format_bytes(total)} of memory: {fix}.")


def n_weights(sizes):
    """Weights and biases of the layers of ``sizes`` joined in a chain (input first)."""
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) + sum(sizes)


# ------------------------------------------------------------------------------ training
def rbm_bytes(n_visible, n_hidden, batch_size, n_rows, precision="float32"):
    """An RBM in training: 12 bytes a weight (plus the copy the products read in bfloat16 or
    int8), the CD workspace of a batch of up to ``n_rows`` rows (``Workspace``: 4 visible and
    3 hidden values a row in the products' dtype; ``n_rows=0`` when nothing trains) and
    ``h_samples_`` (batch_size x n_hidden float32)."""
    product = PRODUCT_BYTES.get(precision, FLOAT32)
    weights = n_weights((n_visible, n_hidden))
    shadow = product if precision in ("bfloat16", "int8") else 0
    batch = min(batch_size, n_rows)
    workspace = batch * (4 * n_visible + 3 * n_hidden) * product
    return (TRAINING_BYTES_PER_WEIGHT + shadow) * weights + workspace + batch_size * n_hidden * FLOAT32


def stack_bytes(sizes, batch_size, n_rows, precision="float32"):
    """A DBN's greedy training: every RBM keeps 8 bytes a weight once trained, and the one in
    training needs what ``rbm_bytes`` counts beyond that."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    kept = [KEPT_BYTES_PER_WEIGHT * n_weights(pair) for pair in pairs]
    training = [rbm_bytes(*pair, batch_size, n_rows, precision) - k for pair, k in zip(pairs, kept)]
    return sum(kept) + max(training)


def dbm_bytes(sizes, batch_size, n_rows, n_chains, precision="float32"):
    """A DBM's joint training: 12 bytes a weight, and float32 states of every layer for the
    persistent chains and, twice over (data and model statistics), for a batch of up to
    ``n_rows`` rows (both 0 when nothing trains)."""
    states = (n_chains + 2 * min(batch_size, n_rows)) * sum(sizes) * FLOAT32
    return TRAINING_BYTES_PER_WEIGHT * n_weights(sizes) + states


def net_bytes(shapes, batch_size, n_rows):
    """Fine-tuning by backprop of the layers ``shapes`` ((n_in, n_out) each): the float32
    weights, their gradients and the optimizer's momentum (12 bytes a weight), and a batch's
    activations and their gradients."""
    weights = sum(a * b + b for a, b in shapes)
    units = sum(b for _, b in shapes) + (shapes[0][0] if shapes else 0)
    return TRAINING_BYTES_PER_WEIGHT * weights + 2 * min(batch_size, n_rows) * units * FLOAT32


# ------------------------------------------------------------------------------ sampling
def chains_bytes(n_chains, sizes, n_kept, n_recorded=0):
    """Gibbs chains: float32 states of every layer of ``sizes`` (visible first), and each kept
    or recorded report of the visible layer as float32 and as the float64 array returned."""
    return n_chains * (FLOAT32 * sum(sizes) + (FLOAT32 + FLOAT64) * sizes[0] * (n_kept + n_recorded))


def ais_bytes(n_runs, sizes):
    """AIS: the states of every layer of ``sizes`` for each run, in float32, and each run's
    float64 log weight."""
    return n_runs * (FLOAT32 * sum(sizes) + FLOAT64)


def betas_bytes(n_betas):
    """An annealing schedule: its float64 tensor and the list of Python floats AIS walks."""
    return n_betas * (FLOAT64 + 32)
