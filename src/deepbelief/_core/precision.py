"""Which dtype the matrix products of training run in: ``precision="auto" | "float32" | "bfloat16"``.

Only the products change. Weights, velocities, biases and the gradient sums stay float32, and
inference (``transform`` and friends) stays float32, so a model trained in bfloat16 is an
ordinary float32 model afterwards.

"auto" means bfloat16 where the hardware multiplies it natively and float32 elsewhere:

- CPU: bfloat16 when the processor has AVX-512 BF16 or AMX (torch reports it through
  ``torch.cpu._is_avx512_bf16_supported`` / ``_is_amx_tile_supported``). There the products of
  a CD-1 step on MNIST run about 2.5x faster in bfloat16 (2.1 vs 5.3 ms per batch of 100,
  784 -> 500, one thread), while a tiny RBM (9 -> 16) trains about 25% slower (the casts
  dominate). Without native support torch emulates bfloat16 products, slower than float32,
  so "auto" stays float32.
- CUDA: bfloat16 when ``torch.cuda.is_bf16_supported()`` (Ampere and newer), else float32.
  Untested here (no GPU on the development machine); TF32 is not switched on because that is
  a global torch setting.
"""

import torch

PRECISIONS = ("auto", "float32", "bfloat16")


def cpu_has_native_bfloat16():
    """True when this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX tiles)."""
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    try:
        return any(getattr(cpu, name, lambda: False)() for name in checks)
    except RuntimeError:  # a torch build without the probes
        return False


def compute_dtype(precision, device):
    """The dtype for the products of training, from ``precision`` and a ``torch.device``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    return torch.bfloat16 if device.type == "cpu" and cpu_has_native_bfloat16() else torch.float32
