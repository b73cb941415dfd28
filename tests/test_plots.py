"""plots: every figure is a real PNG of a sensible size; GIFs have their frames; no matplotlib."""

import os
import sys

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("matplotlib")

from deepbelief import RBM  # noqa: E402
from deepbelief.datasets import load_digits  # noqa: E402
from deepbelief.viz.animation import make_animation  # noqa: E402
from deepbelief.viz.charts import (  # noqa: E402
    plot_codes_2d,
    plot_codes_side_by_side,
    plot_confusion_matrix,
    plot_training_curves,
)
from deepbelief.viz.figures import plot_image_grid, plot_image_rows, plot_pair  # noqa: E402

SHAPE = (8, 8)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def rbm(digits):
    return RBM(16, n_iter=2, batch_size=50, random_state=0, device="cpu").fit(digits.X[:300])


def assert_png(path, min_width=300, min_height=150):
    assert path.read_bytes().startswith(PNG_MAGIC)
    with Image.open(path) as image:
        width, height = image.size
    assert min_width <= width <= 3000 and min_height <= height <= 3000, (width, height)
    assert not [name for name in os.listdir(path.parent) if name.endswith(".tmp")]


def test_image_grid(tmp_path, rbm):
    path = plot_image_grid(rbm.components_, SHAPE, tmp_path / "filters.png", "RBM filters",
                           n_cols=8, row_labels=["units 0-7", "units 8-15"])
    assert path == tmp_path / "filters.png"
    assert_png(path)
    with pytest.raises(ValueError, match="row_labels"):
        plot_image_grid(rbm.components_, SHAPE, tmp_path / "x.png", n_cols=8, row_labels=["one"])
    with pytest.raises(ValueError, match="shape"):
        plot_image_grid(rbm.components_, (7, 7), tmp_path / "x.png")


def test_image_rows(tmp_path, rbm, digits):
    X = digits.X[:10]
    rows = {"original": X, "reconstruction": rbm.reconstruct(X), "first five": X[:5]}
    assert_png(plot_image_rows(rows, SHAPE, tmp_path / "rows.png", "Reconstructions"))


def test_pair(tmp_path, rbm, digits):
    path = plot_pair(1 / (1 + np.exp(-rbm.intercept_visible_)), digits.X.mean(axis=0), SHAPE,
                     tmp_path / "sub" / "pair.png")
    assert_png(path)


def test_training_curves_of_an_rbm_a_dbn_and_a_classifier(tmp_path, rbm):
    assert_png(plot_training_curves(rbm.history_, tmp_path / "rbm.png", "RBM"))
    second = {"epoch": [1, 2], "reconstruction_error": [0.03, 0.02],
              "batch_reconstruction_error": [[0.04, 0.03], [0.02, 0.02]]}
    assert_png(plot_training_curves([rbm.history_, second], tmp_path / "dbn.png", "DBN"))
    finetune = {
        "epoch": [1, 2, 3, 4], "phase": ["output", "output", "network", "network"],
        "loss": [2.0, 1.2, 0.6, 0.4], "train_error": [0.5, 0.3, 0.1, 0.05],
        "validation_error": [0.5, 0.35, 0.15, 0.1], "learning_rate": [0.1, 0.1, 0.01, 0.01],
        "time": [0.2, 0.2, 0.3, 0.3],
    }
    path = plot_training_curves(finetune, tmp_path / "clf.png", "Fine-tuning")
    assert_png(path, min_height=600)  # one panel per scale: errors, loss, learning rate, time
    with pytest.raises(TypeError, match="history"):
        plot_training_curves("loss", tmp_path / "x.png")
    with pytest.raises(ValueError, match="numeric"):
        plot_training_curves({"phase": ["a", "b"]}, tmp_path / "x.png")


def test_codes_2d_with_highlighted_digits_and_reconstructions(tmp_path, rbm, digits):
    X, y = digits.X[:200], digits.y[:200]
    codes = np.random.RandomState(0).randn(200, 2)
    highlight = [0, 3, 11, 42]
    path = plot_codes_2d(codes, y, tmp_path / "codes.png", "codes", highlight=highlight,
                         images=X, reconstructions=rbm.reconstruct(X[highlight]), image_shape=SHAPE)
    assert_png(path, min_width=600, min_height=400)
    assert_png(plot_codes_2d(codes, y, tmp_path / "plain.png"))
    with pytest.raises(ValueError, match="2"):
        plot_codes_2d(np.zeros((200, 3)), y, tmp_path / "x.png")
    with pytest.raises(ValueError, match="highlight"):
        plot_codes_2d(codes, y, tmp_path / "x.png", images=X, image_shape=SHAPE)


def test_codes_side_by_side(tmp_path, digits):
    y = digits.y[:150]
    rng = np.random.RandomState(0)
    panels = {"deep autoencoder": rng.randn(150, 2), "PCA": rng.randn(150, 2)}
    assert_png(plot_codes_side_by_side(panels, y, tmp_path / "side.png", "2-D codes"),
               min_width=600)
    with pytest.raises(ValueError, match="labels"):
        plot_codes_side_by_side(panels, y[:10], tmp_path / "x.png")


def test_confusion_matrix(tmp_path, digits):
    y = digits.y[:100]
    predicted = np.where(np.arange(100) % 7 == 0, (y + 1) % 10, y)
    assert_png(plot_confusion_matrix(y, predicted, tmp_path / "cm.png", "Test set"))


def test_gif_has_one_frame_per_distinct_image(tmp_path):
    frames = [np.full((10, 20), v) for v in (0.0, 0.5, 1.0)]
    (gif,) = make_animation(frames, tmp_path / "anim.gif", fps=4, scale=3)
    with Image.open(gif) as image:
        assert image.format == "GIF"
        assert image.n_frames == 3
        assert image.size == (60, 30)


def test_gif_from_png_files_of_different_sizes(tmp_path, rbm):
    a = plot_image_grid(rbm.components_, SHAPE, tmp_path / "a.png")
    b = plot_image_grid(rbm.components_[:4], SHAPE, tmp_path / "b.png", n_cols=4)
    (gif,) = make_animation([a, b], tmp_path / "anim.gif")
    with Image.open(gif) as image:
        assert image.n_frames == 2
    with pytest.raises(FileNotFoundError, match="missing.png"):
        make_animation([tmp_path / "missing.png"], tmp_path / "x.gif")


def fake_ffmpeg(tmp_path, monkeypatch, body):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "ffmpeg"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))


@pytest.mark.skipif(sys.platform == "win32", reason="fake ffmpeg is a shell script")
def test_mp4_is_written_when_ffmpeg_is_installed(tmp_path, monkeypatch):
    fake_ffmpeg(tmp_path, monkeypatch, 'for last; do :; done\nprintf fake > "$last"\n')
    paths = make_animation([np.zeros((4, 4)), np.ones((4, 4))], tmp_path / "anim.gif")
    assert paths == [tmp_path / "anim.gif", tmp_path / "anim.mp4"]
    assert (tmp_path / "anim.mp4").read_bytes() == b"fake"


@pytest.mark.skipif(sys.platform == "win32", reason="fake ffmpeg is a shell script")
def test_failing_ffmpeg_warns_and_keeps_the_gif(tmp_path, monkeypatch):
    fake_ffmpeg(tmp_path, monkeypatch, 'echo "Unknown encoder libx264" >&2\nexit 1\n')
    with pytest.warns(RuntimeWarning, match="libx264"):
        paths = make_animation([np.zeros((4, 4)), np.ones((4, 4))], tmp_path / "anim.gif")
    assert paths == [tmp_path / "anim.gif"]


def test_missing_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"deepbelief\[plot\]"):
        plot_pair(np.zeros(64), np.ones(64), SHAPE, tmp_path / "pair.png")
