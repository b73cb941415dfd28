"""Data-parallel training on ``torch.distributed``: N processes (ranks) train one model.

Every rank holds the whole model and trains on its own shard of the rows: rank ``r`` of ``N``
takes rows ``r, r + N, r + 2N, ...`` (strided, so with an unshuffled order the ranks' i-th
batches together are one process's i-th batch of ``N x batch_size`` rows; the shards are
padded to one length by wrapping around to the first rows, as ``DistributedSampler`` does, so
every rank runs the same number of updates). The parameters start identical (broadcast from
rank 0); every update all-reduces the gradient statistics, summed over the ranks' rows and
divided by their count, so N ranks with batches of B make the same updates as one process
with batches of N x B, up to the random numbers. Each rank draws its own random numbers: rank
0 the single process's stream, rank r one seeded from the same number and r, so the ranks
differ but a run repeats.

A rank that fails stops the others: a collective with a rank that exited (or does not answer
within the process group's timeout) raises ``ConnectionError`` naming what was lost, instead of
waiting for ever. Nothing here runs, and nothing costs anything, without an initialised
process group.
"""

import contextlib
import datetime
import os

import numpy as np
import torch

from .batches import RowStream

# How long a collective waits for the other ranks before failing (process groups started here).
TIMEOUT = datetime.timedelta(minutes=10)


def _dist():
    """``torch.distributed`` when this build has it (some macOS and mobile builds do not)."""
    import torch.distributed as dist

    return dist if dist.is_available() else None


def is_initialized():
    """True inside an initialised ``torch.distributed`` process group."""
    dist = _dist()
    return dist is not None and dist.is_initialized()


def rank():
    """This process's rank in the process group (0 without one)."""
    return _dist().get_rank() if is_initialized() else 0


def world_size():
    """The number of ranks in the process group (1 without one)."""
    return _dist().get_world_size() if is_initialized() else 1


def is_main_process():
    """True on rank 0, and without a process group: the process that writes files.

    Data-parallel training leaves the same model on every rank, so one rank saves it.
    """
    return rank() == 0


def launched():
    """True when a launcher such as ``torchrun`` started this process as one of several ranks
    (it sets ``RANK`` and ``WORLD_SIZE`` in the environment)."""
    return "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(rank=None, world_size=None, address=None, port=None, backend=None, timeout=TIMEOUT):
    """Start the default process group, with errors that say what to fix.

    Without arguments it reads ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``
    from the environment, as ``torchrun`` sets them. The backend is gloo for CPU tensors and
    NCCL for CUDA ones (``"cpu:gloo,cuda:nccl"`` when CUDA is present).

    Raises
    ------
    OSError
        Rank 0 cannot listen on ``port`` (another program uses it): pick another port.
    ConnectionError
        The ranks did not all meet within ``timeout``.
    """
    dist = _dist()
    if dist is None or not dist.is_gloo_available():
        raise ImportError("data-parallel training needs torch.distributed with gloo, which this "
                          "torch build lacks: install the standard torch wheel from pytorch.org.")
    env = os.environ
    rank = int(env.get("RANK", 0)) if rank is None else rank
    world_size = int(env.get("WORLD_SIZE", 1)) if world_size is None else world_size
    address = env.get("MASTER_ADDR", "127.0.0.1") if address is None else address
    port = int(env.get("MASTER_PORT", 29500)) if port is None else int(port)
    if backend is None:
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
    if backend.endswith("nccl") and "LOCAL_RANK" in env:
        torch.cuda.set_device(int(env["LOCAL_RANK"]))  # one GPU per rank of a machine
    try:
        dist.init_process_group(backend, init_method=f"tcp://{address}:{port}", rank=rank,
                                world_size=world_size, timeout=timeout)
    except (RuntimeError, OSError) as exc:
        text = str(exc)
        if "in use" in text.lower() or "EADDRINUSE" in text:
            raise OSError(f"could not start the process group: port {port} on {address} is "
                          "already in use; pick a free one (torchrun --master-port, or "
                          "MASTER_PORT).") from exc
        raise ConnectionError(
            f"rank {rank} of {world_size} could not join the process group at {address}:{port} "
            f"within {timeout.total_seconds():g}s: check that every rank started, with the same "
            f"address and port ({' '.join(text.split())[:300]})") from exc


@contextlib.contextmanager
def process_group_from_env(timeout=TIMEOUT):
    """A process group for the ``with`` block when a launcher started this process as one of
    several ranks and none exists yet (ended after the block); otherwise nothing."""
    if not launched() or is_initialized():
        yield
        return
    start(timeout=timeout)
    try:
        yield
    finally:
        _dist().destroy_process_group()


@contextlib.contextmanager
def main_process_first():
    """Rank 0 runs the block before the others (a download or a cache every rank then reads)."""
    if not is_initialized():
        yield
        return
    if not is_main_process():
        _collective(_dist().barrier, "waiting for rank 0")
    yield
    if is_main_process():
        _collective(_dist().barrier, "waiting for rank 0")


def _collective(call, what, *args, **kwargs):
    """``call(*args)``, a ``ConnectionError`` that says so when another rank is gone."""
    try:
        return call(*args, **kwargs)
    except RuntimeError as exc:  # DistBackendError, DistNetworkError, gloo's own errors
        raise ConnectionError(
            f"data-parallel training stopped on rank {rank()} of {world_size()}: {what} failed, "
            "because another rank failed or exited (see its error) or did not answer within the "
            f"process group's timeout ({' '.join(str(exc).split())[:300]})") from exc


def data_parallel(setting):
    """The ``DataParallel`` an estimator's ``distributed`` setting asks for, or None to train
    alone: "auto" inside a process group of several ranks, True (a group must exist), False."""
    auto = isinstance(setting, str)
    if not (auto or setting) or (auto and not is_initialized()):
        return None
    if not is_initialized():
        raise ValueError("distributed=True needs a torch.distributed process group: call "
                         "torch.distributed.init_process_group first or launch with torchrun; "
                         "or pass distributed='auto' to train alone without one.")
    return DataParallel() if world_size() > 1 else None


def parallel_size(setting):
    """How many ranks an estimator with this ``distributed`` setting trains on."""
    return world_size() if (isinstance(setting, str) or setting) and is_initialized() else 1


def rank_random_state(random_state, rank):
    """What rank ``rank``'s stream is seeded from: ``random_state`` itself on rank 0 (one
    process's stream); on rank r a generator seeded from the next number of ``random_state``
    and r. Either way ``random_state`` (a RandomState) advances by one draw on every rank."""
    if rank == 0:
        return random_state
    seed = int(random_state.randint(np.iinfo(np.int32).max))
    return np.random.RandomState(np.random.SeedSequence([seed, rank]).generate_state(1))


class ShardRows(RowStream):
    """The rows ``index`` of a ``RowStream``, read on demand."""

    def __init__(self, stream, index):
        self.stream, self.index = stream, index
        self.shape = (len(index), stream.shape[1])

    def rows(self, index, device):
        index = index.cpu().numpy() if isinstance(index, torch.Tensor) else np.asarray(index)
        return self.stream.rows(self.index[index], device)

    def chunks(self):
        step = self.chunk_rows()
        for start in range(0, self.shape[0], step):
            yield self.rows(np.arange(start, min(start + step, self.shape[0])), "cpu").numpy()


class DataParallel:
    """This rank's part of a data-parallel run: its shard, its random stream, the collectives."""

    def __init__(self):
        self.dist = _dist()
        self.rank = self.dist.get_rank()
        self.world_size = self.dist.get_world_size()

    def shard_index(self, n_samples):
        """Rows ``rank, rank + N, ...``: ``ceil(n / N)`` of them, wrapping to the first rows."""
        per_rank = -(-n_samples // self.world_size)
        return np.arange(self.rank, per_rank * self.world_size, self.world_size) % n_samples

    def shard(self, X):
        """This rank's rows of ``X`` (an array or a ``RowStream``): a view of a strided slice
        when N divides the rows (no rows read from a memmap), else a copy of them."""
        n_samples = X.shape[0]
        if isinstance(X, RowStream):
            return ShardRows(X, self.shard_index(n_samples))
        if n_samples % self.world_size == 0:
            return X[self.rank :: self.world_size]
        return X[self.shard_index(n_samples)]

    def random_state(self, random_state):
        """What this rank's random stream is seeded from (``rank_random_state``)."""
        return rank_random_state(random_state, self.rank)

    def broadcast(self, tensors):
        """Rank 0's values into ``tensors`` on every rank, in place."""
        for t in tensors:
            _collective(self.dist.broadcast, "broadcasting the parameters", t, src=0)

    def broadcast_object(self, obj):
        """Rank 0's ``obj`` (a picklable object, e.g. a RandomState) on every rank."""
        box = [obj]
        _collective(self.dist.broadcast_object_list, "broadcasting the random state", box, src=0)
        return box[0]

    def mean(self, tensor):
        """The mean of ``tensor`` over the ranks, in place."""
        _collective(self.dist.all_reduce, "averaging over the ranks", tensor)
        return tensor.div_(self.world_size)

    def gather_rows(self, tensor):
        """Every rank's ``tensor`` stacked along rows, rank 0's first, on every rank."""
        parts = [torch.empty_like(tensor) for _ in range(self.world_size)]
        _collective(self.dist.all_gather, "gathering the chains", parts, tensor.contiguous())
        return torch.cat(parts)

    def own_rows(self, tensor):
        """This rank's block of rows of ``gather_rows``' result (None if they do not split)."""
        if tensor is None or tensor.shape[0] % self.world_size:
            return None
        per_rank = tensor.shape[0] // self.world_size
        return tensor[self.rank * per_rank : (self.rank + 1) * per_rank].clone()

    def gradient_sum(self, n_hidden, n_visible, device):
        """A ``reduce`` for ``cd.momentum_step``: see ``GradientSum``."""
        return GradientSum(self, n_hidden, n_visible, device)


class GradientSum:
    """``stats -> (grad_W, grad_b, grad_c)`` averaged over every rank's rows of the update.

    Each rank's sums (``A^T B``, the bias sums) and its row count go into one flat buffer,
    all-reduced in one call, then divided by the total count: 4 (HV + V + H + 1) bytes.
    """

    def __init__(self, parallel, n_hidden, n_visible, device):
        self.parallel = parallel
        self.buffer = torch.empty(n_hidden * n_visible + n_visible + n_hidden + 1, device=device)
        HV = n_hidden * n_visible
        self.W = self.buffer[:HV].view(n_hidden, n_visible)  # (H, V)
        self.b = self.buffer[HV : HV + n_visible]
        self.c = self.buffer[HV + n_visible : -1]
        self.n = self.buffer[-1:]

    def __call__(self, stats):
        if stats.A.dtype == torch.float32:
            torch.mm(stats.A.T, stats.B, out=self.W)
        else:  # a bfloat16 or int8 product, in float32
            self.W.copy_(stats.product32()).mul_(stats.product_scale)
        torch.mul(stats.grad_b, stats.n, out=self.b)
        torch.mul(stats.grad_c, stats.n, out=self.c)
        self.n.fill_(stats.n)
        _collective(self.parallel.dist.all_reduce, "all-reducing the gradient", self.buffer)
        self.buffer[:-1].div_(self.n)  # no .item(): no host synchronisation on a GPU
        return self.W, self.b, self.c
