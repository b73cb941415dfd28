"""Write src/deepbelief/datasets/data/mnist_sample.npz: 5,000 real MNIST training digits.

The draw is stratified by digit (each class in the proportion it has among the 60,000 training
images) and seeded, so running this again gives the same file:

    DEEPBELIEF_DATA=/path/to/mnist python bench/make_mnist_sample.py

The file holds ``images`` (5000, 28, 28) uint8 in 0-255, ``labels`` (5000,) uint8 and
``train_index`` (5000,) int32, the row of each digit in MNIST's training set (rows in
increasing order).
"""

import argparse
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from deepbelief.datasets import load_mnist

OUT = Path(__file__).resolve().parents[1] / "src/deepbelief/datasets/data/mnist_sample.npz"


def draw(y, n, seed):
    """Row indices of a stratified random draw of ``n`` of the labels ``y``, sorted."""
    rows = np.arange(len(y))
    picked, _ = train_test_split(rows, train_size=n, stratify=y, random_state=seed)
    return np.sort(picked)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-home", default=None, help="MNIST directory (default: $DEEPBELIEF_DATA)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    mnist = load_mnist(data_home=args.data_home, download=False, verbose=0, scale=False)
    index = draw(mnist.y_train, args.n, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        images=mnist.X_train[index].reshape(-1, 28, 28),
        labels=mnist.y_train[index].astype(np.uint8),
        train_index=index.astype(np.int32),
    )
    print(f"{args.out}: {args.n} digits, {args.out.stat().st_size / 1e6:.2f} MB, "
          f"per class {np.bincount(mnist.y_train[index]).tolist()}")


if __name__ == "__main__":
    main()
