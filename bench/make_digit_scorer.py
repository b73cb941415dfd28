"""Write src/deepbelief/models/data/digit_scorer.npz: the classifier behind ``sample_quality``.

A small MLP (784 -> 256 ReLU -> 11) trained on all 60,000 MNIST training digits plus 12,000
made-up non-digits, the eleventh class: uniform noise, random 0/1 pixels of density 2-60%,
blends (means) of 2 to 4 random training digits, flat grey images and blocky 7x7 noise. With that
class a classifier can say "not a digit": a plain 10-class MLP trained the same way gives
uniform noise a top probability of 0.98 (all "5") and the mean training image 0.85 (all "8").
The weights are stored in float16 (the file is read with ``allow_pickle=False``).

Seeded (NumPy RandomState and a torch generator), so running it again writes the same file on
the same machine:

    DEEPBELIEF_DATA=/path/to/mnist python bench/make_digit_scorer.py [--epochs 10] [--out FILE]

It prints the test accuracy and the scores ``sample_quality`` gives to reference sets (100
images each): real test digits, the same binarized, blends of two test digits of different
classes, the mean training image, uniform noise, random 0/1 pixels. Model samples (CD-1 and PCD
chains) are scored by ``bench/sample_quality.py``.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from deepbelief.datasets import load_mnist
from deepbelief.models.sample_quality import sample_quality

OUT = Path(__file__).resolve().parents[1] / "src/deepbelief/models/data/digit_scorer.npz"
N_HIDDEN = 256


def non_digits(X, n, rng):
    """``n`` images that are not digits, five kinds in equal shares (see the docstring)."""
    kinds = rng.randint(5, size=n)
    out = np.empty((n, X.shape[1]), dtype=np.float32)
    for i, kind in enumerate(kinds):
        if kind == 0:
            out[i] = rng.rand(X.shape[1])
        elif kind == 1:
            out[i] = rng.rand(X.shape[1]) < rng.uniform(0.02, 0.6)
        elif kind == 2:
            out[i] = X[rng.randint(len(X), size=rng.randint(2, 5))].mean(axis=0)
        elif kind == 3:
            out[i] = rng.uniform(0, 1)
        else:
            out[i] = np.kron(rng.rand(7, 7), np.ones((4, 4))).ravel()
    return out


def train(X, y, epochs, seed):
    generator = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(784, N_HIDDEN), torch.nn.ReLU(),
                              torch.nn.Linear(N_HIDDEN, 11))
    with torch.no_grad():  # PyTorch's default init, drawn from our generator
        for layer in (net[0], net[2]):
            bound = 1 / np.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=generator)
            layer.bias.uniform_(-bound, bound, generator=generator)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    for epoch in range(epochs):
        order = torch.randperm(len(X), generator=generator)
        total = 0.0
        for start in range(0, len(X), 128):
            index = order[start : start + 128]
            loss = torch.nn.functional.cross_entropy(net(X[index]), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss) * len(index)
        print(f"  epoch {epoch + 1}/{epochs}: loss {total / len(X):.4f}", flush=True)
    return net


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-home", default=None, help="MNIST directory (default: $DEEPBELIEF_DATA)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    mnist = load_mnist(data_home=args.data_home, download=False, verbose=0)
    rng = np.random.RandomState(args.seed)
    junk = non_digits(mnist.X_train, 12_000, rng)
    X = np.vstack([mnist.X_train, junk])
    y = np.concatenate([mnist.y_train, np.full(len(junk), 10)])
    start = time.perf_counter()
    net = train(X, y, args.epochs, args.seed)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        logits = net(torch.as_tensor(mnist.X_test)).numpy()
    accuracy = float(np.mean(logits[:, :10].argmax(axis=1) == mnist.y_test))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        hidden_weight=net[0].weight.detach().numpy().astype(np.float16),
        hidden_bias=net[0].bias.detach().numpy().astype(np.float16),
        output_weight=net[2].weight.detach().numpy().astype(np.float16),
        output_bias=net[2].bias.detach().numpy().astype(np.float16),
        test_accuracy=np.float64(accuracy),
    )
    print(f"{args.out}: {args.out.stat().st_size / 1e3:.0f} kB; trained in {seconds:.0f} s; "
          f"test accuracy {accuracy:.4f} (float32 weights)")
    references(mnist, rng)


def references(mnist, rng):
    """What the shipped scorer says about sets of 100 images whose answer is known."""
    test, y = mnist.X_test, mnist.y_test
    first = test[:100]
    pairs = np.flatnonzero(y[:-1] != y[1:])[:100]  # test digit i and i + 1 differ in class
    sets = {
        "real test digits (first 100)": first,
        "all 10,000 test digits": test,
        "the first 100 binarized (pixel on with p = grey level)": (rng.rand(*first.shape) < first),
        "blends of two test digits of different classes": (test[pairs] + test[pairs + 1]) / 2,
        "the mean training image, 100 times": np.tile(mnist.X_train.mean(axis=0), (100, 1)),
        "uniform noise": rng.rand(100, 784),
        "random 0/1 pixels (p = 0.13, MNIST's mean)": rng.rand(100, 784) < 0.13,
    }
    print(f"\n{'reference set':58s} {'mean conf':>9s} {'>= 0.9':>7s} {'classes':>7s} {'IS':>6s}")
    for name, images in sets.items():
        q = sample_quality(images.astype(np.float32))
        print(f"{name:58s} {q.mean_confidence:9.3f} {q.confident_fraction:7.2f} "
              f"{q.n_classes:7d} {q.inception_score:6.2f}")


if __name__ == "__main__":
    main()
