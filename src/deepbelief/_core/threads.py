"""A per-call limit on torch's CPU threads: ``n_jobs`` on an estimator.

torch's thread count is process-wide, so a limit is set on entry and the previous count put
back on exit, also when the call raises. ``n_jobs=None`` leaves torch alone: inside a joblib
(loky) or dask worker, which start their processes with ``OMP_NUM_THREADS`` set to their share
of the cores, a fit then uses the threads the worker was given.

The setting is per process, not per Python thread: two fits with different ``n_jobs`` running
in threads of one process (e.g. dask's threaded scheduler) would see each other's limit.
"""

import os
from contextlib import contextmanager

import torch


def resolve_n_jobs(n_jobs):
    """Threads for ``n_jobs``: None -> None (leave alone), -1 -> every CPU, k >= 1 -> k."""
    if n_jobs is None:
        return None
    if n_jobs == -1:
        return os.cpu_count() or 1
    if n_jobs < 1:
        raise ValueError(
            f"n_jobs must be None, -1 (all CPUs) or a positive number of threads, got {n_jobs!r}."
        )
    return int(n_jobs)


@contextmanager
def limit_threads(n_jobs):
    """Run the body with torch using ``n_jobs`` threads, then restore the previous count."""
    n = resolve_n_jobs(n_jobs)
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
