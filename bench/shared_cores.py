"""Two jobs sharing the cores: each fits an RBM (20,000 MNIST images, 784 -> 500, one CD-1 epoch)
in its own process at the same time, with torch's default threads and with ``n_jobs=1``.

torch starts as many OpenMP threads as there are cores in every process, so two processes on a
2-core machine run four busy threads and contend; ``n_jobs=1`` on the estimator (``--threads 1``
on the CLI) scopes a limit to the fit. Prints the seconds of each fit, and one fit alone.

    DEEPBELIEF_DATA=/path/to/mnist python bench/shared_cores.py [--images 20000] [--out r.json]
"""

import argparse
import os
import subprocess
import sys
import time

from _common import write_result

CHILD = """
import sys, time
from deepbelief import RBM
from deepbelief.datasets import load_mnist

X = load_mnist(verbose=0).X_train[:int(sys.argv[1])]
n_jobs = None if sys.argv[2] == "None" else int(sys.argv[2])
rbm = RBM(500, n_iter=1, batch_size=100, random_state=0, device="cpu", precision="float32", n_jobs=n_jobs)
start = time.perf_counter()
rbm.fit(X)
print(time.perf_counter() - start)
"""


def run(n_processes, images, n_jobs):
    """Seconds of the fit in each of ``n_processes`` processes started together."""
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(images), str(n_jobs)],
                              stdout=subprocess.PIPE, text=True) for _ in range(n_processes)]
    return [float(p.communicate()[0].strip().splitlines()[-1]) for p in procs]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=20000)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    result = {"benchmark": "shared_cores", "images": args.images, "cores": os.cpu_count(),
              "load_average_before": os.getloadavg()[0], "date": time.strftime("%Y-%m-%d %H:%M")}
    for name, n, n_jobs in (("one alone, default threads", 1, None),
                            ("two at once, default threads", 2, None),
                            ("one alone, n_jobs=1", 1, 1),
                            ("two at once, n_jobs=1", 2, 1)):
        result[name] = run(n, args.images, n_jobs)
        print(f"{name}: " + ", ".join(f"{s:.2f} s" for s in result[name]), flush=True)
    return write_result(args, result)


if __name__ == "__main__":
    main()
