"""report: one self-contained, escaped HTML file with every picture embedded."""

import base64
import re

import numpy as np
import pytest

from deepbelief import __version__
from deepbelief.runs.report import write_report
from deepbelief.viz.tiles import save_png


@pytest.fixture
def pictures(tmp_path):
    rng = np.random.RandomState(0)
    paths = [save_png(rng.rand(12, 16), tmp_path / f"picture_{i}.png", scale=2) for i in range(3)]
    return [("filters of layer 1", paths[0]), ("samples", paths[1]), ("error per batch", paths[2])]


def write(tmp_path, pictures, **overrides):
    arguments = dict(
        title="RBM on digits",
        config={"model": {"n_components": 64, "momentum": (0.5, 0.9), "layers": [64, 32, 16]},
                "note": "<script>alert('x')</script>", "seed": 0},
        metrics={"reconstruction_error": np.float32(0.03125), "accuracy": 0.97},
        pictures=pictures,
        log_lines=["epoch 1: error 0.05", "done <ok> & saved"],
    )
    arguments.update(overrides)
    path = write_report(tmp_path / "out" / "report.html", **arguments)
    return path, path.read_text(encoding="utf-8")


def test_every_picture_is_embedded_byte_for_byte(tmp_path, pictures):
    path, page = write(tmp_path, pictures)
    assert path == tmp_path / "out" / "report.html"
    encoded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert page.count("data:image/png;base64,") == len(encoded) == len(pictures)
    for (caption, picture), data in zip(pictures, encoded):
        assert base64.b64decode(data) == picture.read_bytes()
        assert f"<figcaption>{caption}</figcaption>" in page
    assert 'src="picture_' not in page  # nothing points outside the file


def test_text_is_escaped(tmp_path, pictures):
    _, page = write(tmp_path, pictures, title="a <b>bold</b> title")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "a &lt;b&gt;bold&lt;/b&gt; title" in page
    assert "done &lt;ok&gt; &amp; saved" in page


def test_header_tables_and_log(tmp_path, pictures):
    _, page = write(tmp_path, pictures)
    assert page.startswith("<!DOCTYPE html>")
    assert "<h1>RBM on digits</h1>" in page
    assert f"deepbelief {__version__}" in page
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", page)
    assert "<th>n_components</th><td>64</td>" in page  # nested dict -> nested table
    assert "<td>[64, 32, 16]</td>" in page and "<td>(0.5, 0.9)</td>" in page
    assert "<th>reconstruction_error</th><td>0.03125</td>" in page
    assert "epoch 1: error 0.05" in page


def test_missing_picture_raises_and_writes_nothing(tmp_path, pictures):
    missing = tmp_path / "nowhere.png"
    with pytest.raises(FileNotFoundError, match="nowhere.png"):
        write(tmp_path, pictures + [("lost", missing)])
    assert not (tmp_path / "out" / "report.html").exists()


def test_gif_pictures_and_bad_input(tmp_path, pictures):
    gif = tmp_path / "anim.gif"
    gif.write_bytes(b"GIF89a" + bytes(20))
    _, page = write(tmp_path, [("animation", gif)], log_lines=None)
    assert page.count("data:image/gif;base64,") == 1 and "<h2>Log</h2>" not in page
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="notes.png"):
        write(tmp_path, [("notes", text)])
    with pytest.raises(TypeError, match="caption"):
        write(tmp_path, [pictures[0][1]])
    with pytest.raises(TypeError, match="config"):
        write(tmp_path, pictures, config=[("seed", 0)])
