"""load_mnist: where it looks, what it downloads, and how it fails. Never uses the network:
fake MNIST files are served from a temporary directory on 127.0.0.1."""

import gzip
import hashlib
import http.server
import os
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from deepbelief.datasets import MNIST_FILES, load_mnist
from deepbelief.datasets import mnist as mnist_module

# Read before the autouse fixture below clears it for the other tests.
REAL_MNIST = os.environ.get("DEEPBELIEF_DATA")


def idx_bytes(array):
    """IDX encoding of a uint8 array (written independently of the parser)."""
    dims = b"".join(size.to_bytes(4, "big") for size in array.shape)
    return bytes([0, 0, 0x08, array.ndim]) + dims + array.tobytes()


@pytest.fixture
def ds_fake():
    """Tiny stand-ins for the four MNIST files: name -> uint8 array."""
    rng = np.random.default_rng(0)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (5, 4, 4), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.array([5, 0, 4, 1, 9], dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 4, 4), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([7, 2, 1], dtype=np.uint8),
    }


def write_files(directory, arrays, gz=True):
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        data = idx_bytes(array)
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / name).write_bytes(data)


@pytest.fixture(autouse=True)
def ds_isolated(tmp_path, monkeypatch, ds_fake):
    """No test sees the real environment, the real cache or a real mirror."""
    monkeypatch.delenv("DEEPBELIEF_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(mnist_module, "MNIST_MIRRORS", [])
    checksums = {name: hashlib.sha256(idx_bytes(a)).hexdigest() for name, a in ds_fake.items()}
    monkeypatch.setattr(mnist_module, "MNIST_FILES", checksums)


@pytest.fixture
def ds_server(tmp_path, ds_fake):
    """Serve tmp_path/www on 127.0.0.1: good/ holds the fake files, bad/ altered copies.

    Yields ``(base_url, requests)``; ``requests`` lists every path asked for.
    """
    root = tmp_path / "www"
    write_files(root / "good", ds_fake)
    write_files(root / "bad", {name: array + 1 for name, array in ds_fake.items()})
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def ds_closed_port():
    """A local port nobody listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def use_mirrors(monkeypatch, *urls):
    monkeypatch.setattr(mnist_module, "MNIST_MIRRORS", list(urls))


def check_matches(data, fake):
    np.testing.assert_allclose(data.X_train, fake["train-images-idx3-ubyte"].reshape(5, 16) / 255, rtol=1e-6)
    np.testing.assert_array_equal(data.y_train, [5, 0, 4, 1, 9])
    np.testing.assert_allclose(data.X_test, fake["t10k-images-idx3-ubyte"].reshape(3, 16) / 255, rtol=1e-6)
    np.testing.assert_array_equal(data.y_test, [7, 2, 1])
    assert data.X_train.dtype == np.float32 and data.X_test.dtype == np.float32
    assert data.y_train.dtype == np.int64 and data.y_test.dtype == np.int64
    assert data.image_shape == (4, 4)


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if not p.name.endswith(".gz") or p.name.startswith("."))


def test_download_verifies_and_parses(tmp_path, monkeypatch, ds_server, ds_fake, capsys):
    url, requests = ds_server
    use_mirrors(monkeypatch, url + "/good/")
    home = tmp_path / "home"
    data = load_mnist(data_home=home, verbose=2)  # 2: a bar even where stderr is not a terminal
    check_matches(data, ds_fake)
    assert data.data_home == home
    assert sorted(p.name for p in home.iterdir()) == sorted(f"{n}.gz" for n in ds_fake)
    assert len(requests) == 4
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().err  # the progress bar


def test_second_call_does_not_download(tmp_path, monkeypatch, ds_server, ds_fake):
    url, requests = ds_server
    use_mirrors(monkeypatch, url + "/good/")
    load_mnist(data_home=tmp_path / "home", verbose=0)
    assert len(requests) == 4
    check_matches(load_mnist(data_home=tmp_path / "home", verbose=0), ds_fake)
    assert len(requests) == 4


def test_only_missing_files_are_downloaded(tmp_path, monkeypatch, ds_server, ds_fake):
    url, requests = ds_server
    use_mirrors(monkeypatch, url + "/good/")
    home = tmp_path / "home"
    write_files(home, {n: a for n, a in ds_fake.items() if n.startswith("train")}, gz=False)
    check_matches(load_mnist(data_home=home, verbose=0), ds_fake)
    assert sorted(requests) == ["/good/t10k-images-idx3-ubyte.gz", "/good/t10k-labels-idx1-ubyte.gz"]


def test_checksum_mismatch_falls_back_to_next_mirror(tmp_path, monkeypatch, ds_server, ds_fake):
    url, requests = ds_server
    use_mirrors(monkeypatch, url + "/bad/", url + "/good/")
    home = tmp_path / "home"
    check_matches(load_mnist(data_home=home, verbose=0), ds_fake)
    assert requests[:2] == ["/bad/train-images-idx3-ubyte.gz", "/good/train-images-idx3-ubyte.gz"]
    assert leftovers(home) == []


def test_every_mirror_failing_gives_one_clear_error(tmp_path, monkeypatch, ds_server, ds_closed_port):
    url, _ = ds_server
    refused = f"http://127.0.0.1:{ds_closed_port}/"
    use_mirrors(monkeypatch, url + "/bad/", url + "/nowhere/", refused)
    home = tmp_path / "home"
    with pytest.raises(OSError) as info:
        load_mnist(data_home=home, verbose=0)
    message, summary = str(info.value), info.value.summary
    assert isinstance(info.value, mnist_module.DownloadError)
    assert summary == message.splitlines()[0] and len(summary) < 400, summary
    assert summary.startswith(f"MNIST is not in {home} and could not be downloaded "
                              "(train-images-idx3-ubyte.gz: checksum mismatch")
    assert "; 3 mirrors tried)" in summary
    assert f"{url}/bad/train-images-idx3-ubyte.gz: checksum mismatch" in message
    assert f"{url}/nowhere/train-images-idx3-ubyte.gz: HTTPError" in message and "404" in message
    assert f"{refused}train-images-idx3-ubyte.gz: URLError" in message
    assert summary.endswith("Put the four MNIST files there or set DEEPBELIEF_DATA to a folder that holds them.")
    assert list(home.iterdir()) == []  # no partial or temporary file left behind


def test_no_mirrors_configured(tmp_path):
    with pytest.raises(OSError, match=r"could not be downloaded \(no mirror configured for "):
        load_mnist(data_home=tmp_path / "home", verbose=0)


def test_download_false_and_missing_says_how_to_fix(tmp_path):
    home = tmp_path / "home"
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(data_home=home, download=False)
    message = str(info.value)
    assert "MNIST files not found: train-images-idx3-ubyte[.gz]" in message
    assert f"Looked in: {home}, {home / 'mnist'}" in message
    assert f"Put the files (gzipped or not) in {home}" in message
    assert "set DEEPBELIEF_DATA" in message and "pass download=True" in message


def test_plain_files_in_mnist_subfolder_are_found(tmp_path, ds_fake):
    write_files(tmp_path / "home" / "mnist", ds_fake, gz=False)
    check_matches(load_mnist(data_home=tmp_path / "home", download=False), ds_fake)


def test_deepbelief_data_env_is_searched(tmp_path, monkeypatch, ds_fake):
    write_files(tmp_path / "env", ds_fake)
    monkeypatch.setenv("DEEPBELIEF_DATA", str(tmp_path / "env"))
    data = load_mnist(download=False)
    check_matches(data, ds_fake)
    assert data.data_home == tmp_path / "env"


def test_data_home_argument_wins_over_env(tmp_path, monkeypatch, ds_fake):
    write_files(tmp_path / "arg", ds_fake)
    monkeypatch.setenv("DEEPBELIEF_DATA", str(tmp_path / "empty"))
    assert load_mnist(data_home=tmp_path / "arg", download=False).data_home == tmp_path / "arg"


def test_downloads_go_to_deepbelief_data(tmp_path, monkeypatch, ds_server):
    url, _ = ds_server
    use_mirrors(monkeypatch, url + "/good/")
    monkeypatch.setenv("DEEPBELIEF_DATA", str(tmp_path / "env"))
    load_mnist(verbose=0)
    assert (tmp_path / "env" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_downloads_go_to_xdg_cache(tmp_path, monkeypatch, ds_server):
    url, _ = ds_server
    use_mirrors(monkeypatch, url + "/good/")
    data = load_mnist(verbose=0)
    cache = tmp_path / "xdg-cache" / "deepbelief" / "mnist"
    assert data.data_home == cache
    assert (cache / "train-images-idx3-ubyte.gz").is_file()


def test_home_cache_without_xdg(tmp_path, monkeypatch, ds_fake):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    write_files(tmp_path / "user" / ".cache" / "deepbelief" / "mnist", ds_fake)
    data = load_mnist(download=False)
    assert data.data_home == Path(tmp_path / "user" / ".cache" / "deepbelief" / "mnist")
    check_matches(data, ds_fake)


def test_scale_false_gives_uint8_pixels(tmp_path, ds_fake):
    write_files(tmp_path, ds_fake)
    data = load_mnist(data_home=tmp_path, download=False, scale=False)
    assert data.X_train.dtype == np.uint8
    np.testing.assert_array_equal(data.X_train, ds_fake["train-images-idx3-ubyte"].reshape(5, 16))


def test_truncated_local_file_names_the_file(tmp_path, ds_fake):
    write_files(tmp_path, ds_fake)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte\.gz: corrupt or truncated gzip"):
        load_mnist(data_home=tmp_path, download=False)


def test_image_and_label_counts_must_agree(tmp_path, ds_fake):
    ds_fake["train-labels-idx1-ubyte"] = ds_fake["train-labels-idx1-ubyte"][:4]
    write_files(tmp_path, ds_fake)
    with pytest.raises(ValueError, match=r"holds 5 images but .*train-labels-idx1-ubyte\.gz holds 4 labels"):
        load_mnist(data_home=tmp_path, download=False)


def test_labels_must_be_digits(tmp_path, ds_fake):
    ds_fake["t10k-labels-idx1-ubyte"] = np.array([7, 12, 1], dtype=np.uint8)
    write_files(tmp_path, ds_fake)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz: labels must be digits 0 to 9, found .* to 12"):
        load_mnist(data_home=tmp_path, download=False)


def test_images_must_be_3d(tmp_path, ds_fake):
    ds_fake["train-images-idx3-ubyte"] = ds_fake["train-images-idx3-ubyte"].reshape(5, 16)
    write_files(tmp_path, ds_fake)
    expected = r"train-images-idx3-ubyte\.gz: expected uint8 images of shape \(n, rows, cols\)"
    with pytest.raises(ValueError, match=expected):
        load_mnist(data_home=tmp_path, download=False)


def test_checksum_table_covers_the_four_files():
    assert sorted(MNIST_FILES) == sorted(
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    )
    assert all(len(digest) == 64 and int(digest, 16) >= 0 for digest in MNIST_FILES.values())


@pytest.mark.mnist
@pytest.mark.skipif(
    not REAL_MNIST or not Path(REAL_MNIST).is_dir(),
    reason="set DEEPBELIEF_DATA to a directory holding the real MNIST files",
)
def test_real_mnist():
    data = load_mnist(data_home=REAL_MNIST, download=False, verbose=0)
    assert data.X_train.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.X_train.min() == 0.0 and data.X_train.max() == 1.0
    assert data.image_shape == (28, 28)
    assert np.bincount(data.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(data.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    for name, digest in MNIST_FILES.items():
        path = next(p for p in mnist_module._candidates(data.data_home, name) if p.is_file())
        content = path.read_bytes()
        if path.suffix == ".gz":
            content = gzip.decompress(content)
        assert hashlib.sha256(content).hexdigest() == digest, path


def test_a_symlink_swapped_in_at_the_temporary_name_is_never_written_or_cached(tmp_path, monkeypatch,
                                                                                 ds_server, ds_fake):
    # Someone who can write the data folder replaces the download's temporary file by a symlink
    # to a file of theirs mid-download: the download writes through its own descriptor, so their
    # file is untouched, and the swapped name is neither trusted nor renamed into the cache.
    url, _ = ds_server
    use_mirrors(monkeypatch, url + "/good/")
    home = tmp_path / "home"
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("precious")
    fetch = mnist_module._fetch_verified

    def swapped(url, out, sha256, verbose):
        (temporary,) = [p for p in home.iterdir() if p.name.endswith(".part")]
        temporary.unlink()
        temporary.symlink_to(theirs)
        return fetch(url, out, sha256, verbose)

    monkeypatch.setattr(mnist_module, "_fetch_verified", swapped)
    with pytest.raises(OSError, match="replaced while downloading"):
        load_mnist(data_home=home, verbose=0)
    assert theirs.read_text() == "precious"
    left = list(home.iterdir())
    assert not any(p.name.endswith(".gz") for p in left)  # nothing cached
    assert left and all(p.is_symlink() and p.resolve() == theirs for p in left)  # theirs, left alone
