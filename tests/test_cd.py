"""The CD step of _core/cd.py: a reused Workspace gives the step of fresh tensors, bit for bit."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepbelief._core.backend import RandomSource
from deepbelief._core.cd import Workspace, contrastive_divergence, momentum_step

N_VISIBLE, N_HIDDEN, BATCH = 12, 7, 10


def model(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(N_HIDDEN, N_VISIBLE, generator=g)
    b, c = torch.randn(N_VISIBLE, generator=g), torch.randn(N_HIDDEN, generator=g)
    return [p.to(dtype) for p in (W, b, c)]


def batches(dtype, sizes=(BATCH, 3, BATCH)):
    """Binary batches; the short one is how an epoch's last batch looks."""
    rng = np.random.default_rng(1)
    return [torch.tensor(rng.random((n, N_VISIBLE)) < 0.4, dtype=dtype) for n in sizes]


def steps(dtype, use_workspace, **kw):
    """Statistics, errors and chain states of CD steps over the batches, as float64 arrays."""
    W, b, c = model(dtype)
    source = RandomSource(0, "cpu")
    work = Workspace(BATCH, N_VISIBLE, N_HIDDEN, dtype, "cpu") if use_workspace else None
    persistent, out = None, []
    for v0 in batches(dtype):
        if work is not None:  # as training does: the batch goes into the workspace first
            v0 = work.data(len(v0)).copy_(v0)
        stats, persistent, error = contrastive_divergence(
            v0, W, b, c, "bernoulli", "bernoulli", source=source, persistent=persistent, **kw
        )
        tensors = [stats.A, stats.B, stats.grad_b, stats.grad_c, stats.weight_gradient(), error]
        if persistent is not None:
            tensors.append(persistent)
        out.append([t.float().numpy().astype(float).copy() for t in tensors])
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("kw", [dict(k=1), dict(k=3), dict(k=2, pcd=True)], ids=["cd1", "cd3", "pcd2"])
def test_workspace_step_equals_fresh_step(dtype, kw):
    with torch.inference_mode():
        fresh, reused = steps(dtype, False, **kw), steps(dtype, True, **kw)
    for a, b in zip(fresh, reused):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_statistics_are_the_cd_formulas():
    """A = [E[h0|v0]; -E[h1|v1]], B = [v0; v1], bias gradients their mean differences."""
    W, b, c = model(torch.float32)
    v0 = batches(torch.float32)[0]
    with torch.inference_mode():
        stats, _, _ = contrastive_divergence(
            v0, W, b, c, "bernoulli", "bernoulli", 1, RandomSource(0, "cpu")
        )
    n = len(v0)
    h0, v1 = stats.A[:n], stats.B[n:]
    np.testing.assert_array_equal(stats.B[:n], v0)
    torch.testing.assert_close(h0, torch.sigmoid(v0 @ W.T + c))
    torch.testing.assert_close(-stats.A[n:], torch.sigmoid(v1 @ W.T + c))
    assert set(np.unique(v1.numpy())) <= {0.0, 1.0}
    torch.testing.assert_close(stats.grad_b, (v0 - v1).mean(0))
    torch.testing.assert_close(stats.grad_c, (h0 + stats.A[n:]).mean(0))
    torch.testing.assert_close(stats.weight_gradient(), (h0.T @ v0 + stats.A[n:].T @ v1) / n)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_error_is_the_mean_squared_reconstruction_error(dtype):
    W, b, c = model(dtype)
    v0 = batches(dtype)[0]
    work = Workspace(BATCH, N_VISIBLE, N_HIDDEN, dtype, "cpu")
    with torch.inference_mode():
        _, _, error = contrastive_divergence(
            work.data(BATCH).copy_(v0), W, b, c, "bernoulli", "bernoulli", 1,
            RandomSource(0, "cpu"), work=work,
        )
        expected = F.mse_loss(work.v1_mean.float(), v0.float())
    if dtype == torch.float32:  # exactly F.mse_loss, as before the workspace
        assert error.item() == expected.item()
    else:  # the difference and its square rounded to bfloat16: within 1%
        assert error.item() == pytest.approx(expected.item(), rel=0.01)


def test_bfloat16_momentum_step_with_workspace_buffers_equals_fresh_product():
    """The product buffers of a Workspace change where A^T B goes, not the update."""
    W, b, c = model(torch.bfloat16)
    v0 = batches(torch.bfloat16)[0]
    results = []
    for use_workspace in (False, True):
        work = Workspace(BATCH, N_VISIBLE, N_HIDDEN, torch.bfloat16, "cpu") if use_workspace else None
        params = [p.float() for p in (W, b, c)]
        velocity = [torch.full_like(p, 0.01) for p in params]
        with torch.inference_mode():
            stats, _, _ = contrastive_divergence(
                v0 if work is None else work.data(BATCH).copy_(v0), W, b, c,
                "bernoulli", "bernoulli", 1, RandomSource(0, "cpu"), work=work,
            )
            momentum_step(params, velocity, stats, lr=0.1, mom=0.5, weight_decay=1e-3)
        results.append([t.numpy().copy() for t in params + velocity])
    for x, y in zip(*results):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_bernoulli_into_out_equals_a_new_tensor(dtype):
    p = torch.rand(50, 30, generator=torch.Generator().manual_seed(0)).to(dtype)
    out = torch.full_like(p, 7.0)
    states = RandomSource(3, "cpu").bernoulli(p)
    source = RandomSource(3, "cpu")
    returned = source.bernoulli(p, out=out)
    assert returned is out and out.dtype == dtype
    np.testing.assert_array_equal(out.float().numpy(), states.float().numpy())
    # The scratch buffer behind the draw is reused: a second draw does not change the first.
    first = out.clone()
    source.bernoulli(p)
    np.testing.assert_array_equal(out.float().numpy(), first.float().numpy())
