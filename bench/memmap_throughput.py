"""RBM training from a memmap on disk against the same rows in memory: seconds per epoch, peak memory.

Writes ``--rows`` MNIST training images (float32 in [0, 1]; each pass over the 60,000 images
after the first is shifted by a different (dx, dy) of up to 2 pixels, the augmented copies a
large data set is made of) to a ``.npy`` file in a temporary folder: 1,000,000 rows are 3.1 GB,
so check the free space first. Then each mode trains a fresh RBM (784 -> ``--hidden``, CD-1,
batch 100) for ``--epochs`` in its own subprocess, so each one's peak memory is its own:

- ``memory``: ``np.load(path)``, the whole array in RAM, as before;
- ``memmap``: ``np.load(path, mmap_mode="r")``, batches read from the file per update.

Memory is reported three ways: ``ru_maxrss`` (peak resident set, which counts the file pages a
memmap has touched: they are page cache the kernel can drop, not memory the process owns; the
data file is written by a separate process because Linux keeps ru_maxrss across exec), and
the peaks of the kernel's ``RssAnon`` (memory the process owns) and ``RssFile`` (mapped file
pages), sampled every 20 ms. The file is freshly written, so the memmap reads from the page
cache (warm); ``--cold`` asks the kernel to drop the file's pages first (``posix_fadvise``
DONTNEED). Even then ``fit``'s first pass (the checks and the column mean) reads the file in
order and so pulls it back into the page cache when it fits in RAM: the shuffled batch reads
only go to the disk for files larger than the free memory.

    python bench/memmap_throughput.py [--rows 1000000] [--epochs 1] [--hidden 500]
        [--threads N] [--cold] [--dir DIR] [--quick] [--out result.json]
"""

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from _common import write_result

MODES = ("memory", "memmap")


def write_rows(path, n_rows, data_home=None):
    """MNIST training images, then shifted copies, as an (n_rows, 784) float32 .npy file."""
    from deepbelief.datasets import load_mnist

    images = load_mnist(data_home, download=False, verbose=0).X_train.reshape(-1, 28, 28)  # float32 in [0, 1]
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_rows, 784))
    shifts = [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3)]
    shifts.remove((0, 0))
    shifts.insert(0, (0, 0))  # the first copy is MNIST itself
    for copy, start in enumerate(range(0, n_rows, len(images))):
        dx, dy = shifts[copy % len(shifts)]
        block = np.roll(images, (dy, dx), axis=(1, 2))[: n_rows - start]
        out[start : start + len(block)] = block.reshape(len(block), 784)
    out.flush()
    del out


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class PeakSampler(threading.Thread):
    """Highest RssAnon and RssFile (kB) seen while running, sampled every 20 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peaks = {"RssAnon": 0, "RssFile": 0}
        self.done = threading.Event()

    def sample(self):
        for field in self.peaks:
            self.peaks[field] = max(self.peaks[field], _status_kb(field))

    def run(self):
        while not self.done.is_set():
            self.sample()
            self.done.wait(0.02)

    def stop(self):
        """The peaks in MB, with one last sample."""
        self.done.set()
        self.join()
        self.sample()
        return {k: v / 1024 for k, v in self.peaks.items()}


def worker(mode, path, epochs, hidden, threads):
    """Train in this process and print one JSON line: seconds per epoch and memory peaks (MB)."""
    import torch

    from deepbelief import RBM

    if threads:
        torch.set_num_threads(threads)
    baseline = _status_kb("RssAnon") / 1024  # python, numpy and torch before any data
    sampler = PeakSampler()
    sampler.start()
    start = time.perf_counter()
    X = np.load(path, mmap_mode="r" if mode == "memmap" else None)
    load_seconds = time.perf_counter() - start
    rbm = RBM(hidden, n_iter=epochs, batch_size=100, random_state=0, device="cpu", precision="float32")
    start = time.perf_counter()
    rbm.fit(X)
    fit_seconds = time.perf_counter() - start
    peaks = sampler.stop()
    print(json.dumps({
        "mode": mode,
        "rows": int(X.shape[0]),
        "load_seconds": round(load_seconds, 2),
        "fit_seconds": round(fit_seconds, 2),
        "seconds_per_epoch": [round(t, 2) for t in rbm.history_["time"]],
        "reconstruction_error": [round(e, 6) for e in rbm.history_["reconstruction_error"]],
        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "vm_hwm_mb": round(_status_kb("VmHWM") / 1024, 1),
        "baseline_rss_anon_mb": round(baseline, 1),
        "peak_rss_anon_mb": round(peaks["RssAnon"], 1),
        "peak_rss_file_mb": round(peaks["RssFile"], 1),
        "weights_sha256": hashlib.sha256(rbm.components_.tobytes()).hexdigest()[:16],
    }))


def drop_file_cache(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--cold", action="store_true",
                        help="drop the file from the page cache before the memmap run")
    parser.add_argument("--dir", default=None, help="folder for the data file (default: a temp dir)")
    parser.add_argument("--data-home", default=None, help="MNIST directory (default: $DEEPBELIEF_DATA)")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 100 hidden units")
    parser.add_argument("--out", default=None, help="write the result as JSON to this file")
    parser.add_argument("--worker", choices=MODES + ("write",), help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "write":
        return write_rows(args.file, args.rows, args.data_home)
    if args.worker:
        return worker(args.worker, args.file, args.epochs, args.hidden, args.threads)
    if args.quick:
        args.rows, args.hidden = 20_000, 100

    folder = tempfile.mkdtemp(prefix="memmap-bench-", dir=args.dir)
    try:
        path = os.path.join(folder, "rows.npy")
        free_gb = shutil.disk_usage(folder).free / 1e9
        need_gb = args.rows * 784 * 4 / 1e9
        if need_gb > 0.9 * free_gb:
            sys.exit(f"{args.rows} rows need {need_gb:.1f} GB but {folder} has {free_gb:.1f} GB "
                     "free: pass a smaller --rows or another --dir.")
        start = time.perf_counter()
        # In a subprocess too: Linux keeps ru_maxrss across exec, so the workers started from
        # this process would otherwise inherit the peak of loading MNIST here.
        command = [sys.executable, os.path.abspath(__file__), "--worker", "write", "--file", path,
                   "--rows", str(args.rows)]
        subprocess.run(command + (["--data-home", args.data_home] if args.data_home else []),
                       check=True)
        write_seconds = time.perf_counter() - start
        results = {}
        for mode in MODES:
            if mode == "memmap" and args.cold:
                drop_file_cache(path)
            command = [sys.executable, os.path.abspath(__file__), "--worker", mode, "--file", path,
                       "--epochs", str(args.epochs), "--hidden", str(args.hidden)]
            if args.threads:
                command += ["--threads", str(args.threads)]
            line = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results[mode] = json.loads(line.strip().splitlines()[-1])
            print(json.dumps(results[mode]), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    memory, memmap = results["memory"], results["memmap"]
    result = {
        "benchmark": "memmap_throughput",
        "rows": args.rows,
        "file_gb": round(need_gb, 2),
        "write_seconds": round(write_seconds, 1),
        "epochs": args.epochs,
        "hidden": args.hidden,
        "threads": args.threads,
        "cold": args.cold,
        "quick": args.quick,
        "memmap_over_memory_time": round(memmap["fit_seconds"] / memory["fit_seconds"], 3),
        "same_model": memmap["weights_sha256"] == memory["weights_sha256"],
        "memory": memory,
        "memmap": memmap,
    }
    print(json.dumps({k: v for k, v in result.items() if k not in MODES}, indent=1))
    return write_result(args, result)


if __name__ == "__main__":
    main()
