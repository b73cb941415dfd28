"""Which dtype the matrix products of training run in: ``precision="auto" | "float32" | "bfloat16"``,
and for RBMs and DBNs also ``"int8"``.

Only the products change. Weights, velocities, biases and the gradient sums stay float32, and
inference (``transform`` and friends) stays float32, so a model trained in bfloat16 is an
ordinary float32 model afterwards.

"auto" means bfloat16 where it is faster, float32 elsewhere:

- CPU: bfloat16 when the processor has AVX-512 BF16 or AMX (torch reports it through
  ``torch.cpu._is_avx512_bf16_supported`` / ``_is_amx_tile_supported``) and the products are
  large enough: at least ``AUTO_BFLOAT16_MIN_MACS`` multiply-adds per product and batch
  (batch x n_in x n_out, averaged over a net's layers). Each bfloat16 product and cast has a
  fixed cost that float32 does not pay, so small models train slower in bfloat16.
  ``bench/precision_crossover.py`` measured bfloat16 against float32 per batch (two runs,
  BENCHMARKS.md): RBMs 64 -> 64 at 0.55-0.63x and 784 -> 500 at 1.34-1.56x (batch 100);
  backprop through 64-100-10 at 0.71-0.83x and 784-500-500-2000-10 at 1.53-1.66x (batch 100).
  Between 2 and 4 million multiply-adds the two precisions are within about 15% of each other
  and the faster one changes from run to run (784 -> 500 at batch 10: 1.23x, then 0.87x);
  outside that band the threshold picked the faster precision in every case measured.
  Without native support torch emulates bfloat16 products, slower than float32, so "auto"
  stays float32.
- CUDA: bfloat16 when ``torch.cuda.is_bf16_supported()`` (Ampere and newer), else float32.
  Untested here (no GPU on the development machine); TF32 is not switched on because that is
  a global torch setting.

"int8" (RBMs and DBNs, Bernoulli units, CPU; never picked by "auto") runs CD's products on
whole numbers in [-127, 127] (``_core/cd_int8.py``): about twice bfloat16's rate where the CPU
has VNNI, with unit values and weights rounded to 7 bits.
"""

import torch

from .cd_int8 import MAX_TERMS, int8_supported

PRECISIONS = ("auto", "float32", "bfloat16")  # for every model
RBM_PRECISIONS = PRECISIONS + ("int8",)  # for RBM and DBN, whose training is CD alone
# Multiply-adds per product and batch from which "auto" picks bfloat16 on a CPU: below it the
# fixed costs of bfloat16 outweigh its faster products (bench/precision_crossover.py).
AUTO_BFLOAT16_MIN_MACS = 3_000_000


def cpu_has_native_bfloat16():
    """True when this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX tiles)."""
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    try:
        return any(getattr(cpu, name, lambda: False)() for name in checks)
    except RuntimeError:  # a torch build without the probes
        return False


def macs_per_product(batch_size, shapes):
    """Multiply-adds of one product of a batch through each (n_in, n_out) shape, averaged."""
    return batch_size * sum(a * b for a, b in shapes) / max(1, len(shapes))


def compute_dtype(precision, device, macs):
    """The dtype for the products of training, from ``precision``, a ``torch.device`` and, for
    "auto" on a CPU, ``macs``: the multiply-adds per product and batch (``macs_per_product``).
    """
    if precision not in RBM_PRECISIONS:
        raise ValueError(f"precision must be one of {RBM_PRECISIONS}, got {precision!r}.")
    if precision == "int8":
        if device.type != "cpu":
            raise ValueError("precision='int8' runs on CPUs only; on a GPU use 'bfloat16' or 'auto'.")
        return torch.int8
    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    if device.type != "cpu" or not cpu_has_native_bfloat16():
        return torch.float32
    return torch.bfloat16 if macs >= AUTO_BFLOAT16_MIN_MACS else torch.float32


def check_int8(precision, units, sizes):
    """Refuse ``precision="int8"`` where it cannot work, with the fix, before training starts.

    ``units`` are the visible and hidden unit types of every RBM, ``sizes`` their layer sizes.
    """
    if precision != "int8":
        return
    if not int8_supported():
        raise ValueError(
            "precision='int8' needs torch's exact int8 matrix product (torch._int_mm), which this "
            f"torch {torch.__version__} lacks or, on this CPU, rounds (its kernel adds in 16 bits "
            "without AVX-512 VNNI): use precision='bfloat16' or 'auto'."
        )
    if any(kind != "bernoulli" for kind in units):
        raise ValueError(
            "precision='int8' needs bernoulli visible and hidden units (it rounds unit values in "
            "[0, 1] to 1/127); use precision='bfloat16' or 'float32' for gaussian units."
        )
    if max(sizes) > MAX_TERMS:
        raise ValueError(f"precision='int8' takes layers of up to {MAX_TERMS} units; use 'bfloat16'.")
