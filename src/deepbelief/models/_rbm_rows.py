"""How an RBM reads rows: training data checked (and streamed when it is a memmap or sparse),
new data clipped to the units' range, and a function mapped over the rows a block at a time."""

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core.backend import check_unit_range, clip_unit_range, resolve_device, to_numpy, to_tensor
from .._core.batches import as_stream, check_stream, dense_blocks, is_streamed
from .._core.threads import limit_threads
from .._core.units import get_unit


class RBMRowsMixin:
    """Data in and out of ``RBM``; uses its ``visible``, ``hidden``, ``device``, ``n_jobs``,
    ``components_`` and ``_param_arrays``."""

    def _validate_X(self, X, reset=False, fitting=False):
        """Training data must lie in [0, 1] for Bernoulli visibles; new data is clipped to it.

        Floats keep their dtype, anything else becomes float64, as in BernoulliRBM; sparse
        data stays sparse (CSR), and training streams it (see _core/batches.py).
        """
        if fitting and is_streamed(X) and not sp.issparse(X):
            # A memmap is checked in chunks and stays on disk (see _core/batches.py).
            X = as_stream(X)
            validate_data(self, X, reset=reset, skip_check_array=True)
            check_stream(X, self.visible)
            return X
        X = validate_data(self, X, reset=reset, accept_sparse="csr", dtype=(np.float64, np.float32))
        if fitting and sp.issparse(X):
            X = as_stream(X)
            check_stream(X, self.visible)
            return X
        if fitting:
            check_unit_range(X, self.visible)
            return X
        return clip_unit_range(X, self.visible)

    def _fitted_tensors(self, X):
        """X's dtype, X as one tensor (sparse X densified), and the parameters as tensors."""
        check_is_fitted(self)
        X = self._validate_X(X)
        X = X.toarray() if sp.issparse(X) else X
        device = resolve_device(self.device)
        return X.dtype, to_tensor(X, device), [to_tensor(p, device) for p in self._param_arrays()]

    def _map_rows(self, X, fn, sparse_fn=None):
        """``fn(v, W, b, c)`` on the rows of X (a tensor of rows -> a tensor with one result
        per row), as a NumPy array in X's float dtype. Sparse X goes to ``sparse_fn(X, W, b,
        c)`` (X as float32 CSR) if given, else is densified a block of rows at a time, so
        memory holds one block besides X and the result."""
        check_is_fitted(self)
        X = self._validate_X(X)
        device = resolve_device(self.device)
        params = [to_tensor(p, device) for p in self._param_arrays()]
        with torch.inference_mode(), limit_threads(self.n_jobs):
            if sparse_fn is not None and sp.issparse(X):
                return to_numpy(sparse_fn(X.astype(np.float32), *params)).astype(X.dtype, copy=False)
            out = [to_numpy(fn(to_tensor(block, device), *params)) for block in dense_blocks(X)]
        return (out[0] if len(out) == 1 else np.concatenate(out)).astype(X.dtype, copy=False)

    def _sparse_mean_hiddens(self, X, W, b, c):
        """E[h | v] of float32 CSR rows through scipy's sparse product (about 10x faster than
        densifying on 1%-dense data), the bias and the sigmoid in torch."""
        x = torch.from_numpy(np.asarray(X @ self.components_.T, dtype=np.float32)).to(c.device).add_(c)
        return get_unit(self.hidden).mean_(x)
