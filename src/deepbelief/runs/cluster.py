"""Scikit-learn searches on Dask: a local cluster or a running scheduler, through joblib.

A search hands its fits to joblib, and joblib's ``"dask"`` backend hands them to a Dask cluster.
:func:`search_backend` sets that up for the length of a ``with`` block and tears down whatever
it started, so the same search code runs in this process or on a cluster:

>>> with search_backend("local") as backend:  # doctest: +SKIP
...     search = GridSearchCV(pipe, grid, n_jobs=backend.n_jobs).fit(X, y)

Dask is optional (``pip install 'deepbelief[dask]'``); nothing here imports it until asked.
"""

import contextlib
import logging
import os
import uuid

INSTALL = "pip install 'deepbelief[dask]'"


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            f"running a search on Dask needs dask.distributed, which is not installed: {INSTALL}"
        ) from exc
    return distributed


def local_cores():
    """The cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class FitTicker:
    """Moves a progress bar on by one per call, wherever the call happens.

    In the process that owns the bar it updates the bar. A copy pickled to a Dask worker in
    another process (the bar does not travel) sends a Dask event instead, which the client
    turns back into an update (see :meth:`SearchBackend.ticker`). Anywhere else (e.g. a loky
    worker) a call does nothing.
    """

    def __init__(self, bar, topic):
        self.bar = bar
        self.topic = topic

    def __getstate__(self):
        return {"bar": None, "topic": self.topic}

    def __call__(self):
        if self.bar is not None:
            self.bar.update()
            return
        try:
            from distributed import get_worker

            worker = get_worker()
        except (ImportError, ValueError):  # not on a Dask worker: nobody to tell
            return
        worker.log_event(self.topic, 1)


class SearchBackend:
    """Where a search's fits run, and how they report back.

    Attributes
    ----------
    client : distributed.Client or None
        None: the fits run one after another in this process.
    n_jobs : int or None
        What to pass as a search's ``n_jobs``: 1 in this process, None on Dask (every worker;
        joblib runs ``n_jobs=1`` in this process whatever the backend).
    description : str
        Where the fits run, for messages.
    """

    def __init__(self, client=None, description="this process"):
        self.client = client
        self.description = description
        self.n_jobs = 1 if client is None else None
        self._topics = []

    def ticker(self, bar):
        """A picklable callable that moves ``bar`` on by one, from here or from a Dask worker."""
        ticker = FitTicker(bar, f"deepbelief-fit-done-{uuid.uuid4().hex}")
        if self.client is not None:
            self.client.subscribe_topic(ticker.topic, lambda event: bar.update())
            self._topics.append(ticker.topic)
        return ticker

    def _unsubscribe(self):
        for topic in self._topics:
            self.client.unsubscribe_topic(topic)
        self._topics.clear()


def _connect(distributed, address, timeout):
    try:
        return distributed.Client(address, timeout=timeout)
    except (OSError, ValueError) as exc:  # nothing listening, or an address Dask cannot parse
        raise ConnectionError(
            f"no Dask scheduler answers at {address!r} ({' '.join(str(exc).split())}); start "
            "one with `dask scheduler` (and workers with `dask worker ADDRESS`), or use "
            "'local' to start a cluster on this machine"
        ) from None


@contextlib.contextmanager
def search_backend(scheduler=None, n_workers=None, timeout=10):
    """Run the joblib-parallel work inside the block (scikit-learn searches) on Dask.

    Parameters
    ----------
    scheduler : None, "local" or str, default=None
        None: no Dask, fits run in this process (yields a backend with ``n_jobs=1``).
        "local": start a Dask cluster on this machine, one single-threaded worker process per
        core, on 127.0.0.1 only, and shut it down when the block ends. Anything else is the
        address of a running scheduler (``tcp://host:8786``); its workers need deepbelief
        installed, and the client is closed (the cluster left running) when the block ends.
    n_workers : int, default=None
        "local" only: worker processes to start (default: the cores this process may use).
    timeout : float, default=10
        Seconds to wait for a remote scheduler to answer.

    Yields
    ------
    backend : SearchBackend
        Pass ``backend.n_jobs`` to the search, and count finished fits with
        ``backend.ticker(bar)``.

    Raises
    ------
    ImportError
        ``scheduler`` is given but dask.distributed is not installed.
    ConnectionError
        No scheduler answers at the address.

    Notes
    -----
    Dask's nanny starts each local worker with ``OMP_NUM_THREADS=1`` (and the MKL and OpenBLAS
    equivalents), so torch in a worker uses one thread and the workers do not oversubscribe
    the cores. Remote workers use whatever their own environment sets.
    """
    if scheduler is None:
        yield SearchBackend()
        return
    distributed = _distributed()
    import joblib

    with contextlib.ExitStack() as stack:
        if scheduler == "local":
            n_workers = n_workers or local_cores()
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR))
            client = stack.enter_context(distributed.Client(cluster))
            description = f"a local Dask cluster ({n_workers} workers x 1 thread)"
        else:
            client = stack.enter_context(_connect(distributed, scheduler, timeout))
            n_workers = len(client.nthreads())
            description = f"the Dask scheduler at {scheduler} ({n_workers} workers now)"
        backend = SearchBackend(client, description)
        stack.callback(backend._unsubscribe)
        stack.enter_context(joblib.parallel_backend("dask", client=client))
        yield backend
