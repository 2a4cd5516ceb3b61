"""Image datasets (MNIST, Fashion-MNIST, CIFAR-10, SVHN) read from torchvision's on-disk layout.

Nothing here needs torchvision: the idx, CIFAR pickle and SVHN .mat formats are parsed directly and
every file read is checked against the md5 its publisher lists (for idx files, the md5 of the
*uncompressed* file, so a ``.gz`` copy and an extracted copy verify against the same number).
"""
from __future__ import annotations

import gzip
import hashlib
import importlib
import io
import os
import pickle
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imbench.errors import DataError

SPLITS = ("train", "test")


@dataclass(frozen=True)
class ImageFile:
    """One published file of an image dataset.

    ``name`` is the file name as published (uncompressed for idx files, which may also sit on disk
    gzipped as ``name + ".gz"``); ``md5`` is the md5 of that published, uncompressed content.
    """

    name: str
    md5: str
    split: str
    role: str  # "images", "labels" (idx pair), "batch" (CIFAR pickle) or "mat" (SVHN)


@dataclass(frozen=True)
class ImageDatasetSpec:
    """Where a dataset lives under a data root, what its files are and what it contains."""

    name: str
    title: str
    folder: str
    files: tuple[ImageFile, ...]
    classes: tuple[str, ...]
    shape: tuple[int, int, int]
    gz_ok: bool = False  # idx files may be stored as .gz
    also_in_root: bool = False  # SVHN: torchvision keeps the .mat files directly in the root

    def dirs(self, root: Path) -> list[Path]:
        """Directories under ``root`` that may hold this dataset's files, preferred first."""
        dirs = [root / self.folder]
        return dirs + [root] if self.also_in_root else dirs

    def split_files(self, split: str) -> list[ImageFile]:
        """The files making up ``split`` in load order."""
        return [f for f in self.files if f.split == split]


def _idx_files(prefix_md5: dict[str, str]) -> tuple[ImageFile, ...]:
    out = []
    for stem, md5 in prefix_md5.items():
        split = "train" if stem.startswith("train") else "test"
        role = "images" if "images" in stem else "labels"
        out.append(ImageFile(stem, md5, split, role))
    return tuple(out)


IMAGE_DATASETS: dict[str, ImageDatasetSpec] = {
    "mnist": ImageDatasetSpec(
        name="mnist", title="MNIST", folder="MNIST/raw", shape=(1, 28, 28), gz_ok=True,
        files=_idx_files({
            "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
            "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
            "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
            "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
        }),
        classes=("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
                 "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"),
    ),
    "fmnist": ImageDatasetSpec(
        name="fmnist", title="Fashion-MNIST", folder="FashionMNIST/raw", shape=(1, 28, 28), gz_ok=True,
        files=_idx_files({
            "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
            "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
            "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
        }),
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
    "cifar10": ImageDatasetSpec(
        name="cifar10", title="CIFAR-10", folder="cifar-10-batches-py", shape=(3, 32, 32),
        files=(
            ImageFile("data_batch_1", "c99cafc152244af753f735de768cd75f", "train", "batch"),
            ImageFile("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec", "train", "batch"),
            ImageFile("data_batch_3", "54ebc095f3ab1f0389bbae665268c751", "train", "batch"),
            ImageFile("data_batch_4", "634d18415352ddfa80567beed471001a", "train", "batch"),
            ImageFile("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb", "train", "batch"),
            ImageFile("test_batch", "40351d587109b95175f43aff81a1287e", "test", "batch"),
        ),
        classes=("airplane", "automobile", "bird", "cat", "deer",
                 "dog", "frog", "horse", "ship", "truck"),
    ),
    "svhn": ImageDatasetSpec(
        name="svhn", title="SVHN", folder="SVHN", shape=(3, 32, 32), also_in_root=True,
        files=(
            ImageFile("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373", "train", "mat"),
            ImageFile("test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3", "test", "mat"),
        ),
        classes=tuple(str(d) for d in range(10)),
    ),
}


def default_data_root() -> Path:
    """The data root used when none is given.

    Returns
    -------
    Path
        ``$IMBENCH_DATA`` if set, else ``$XDG_CACHE_HOME/imbench/data`` (``~/.cache/imbench/data``).
    """
    env = os.environ.get("IMBENCH_DATA")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "imbench" / "data"


def get_spec(name: str) -> ImageDatasetSpec:
    """Look up an image dataset by name; unknown names raise DataError listing the valid ones."""
    try:
        return IMAGE_DATASETS[name]
    except KeyError:
        raise DataError(f"unknown image dataset {name!r}; valid names: {', '.join(IMAGE_DATASETS)}") from None


def fetch_command(name: str, root: str | os.PathLike | None = None) -> str:
    """The shell command that provisions ``name`` (into ``root`` when given)."""
    where = f" --root {root}" if root is not None else ""
    return f"python -m imbench.data fetch {name}{where}"


# ---------------------------------------------------------------------------------------------
# Finding and verifying files
# ---------------------------------------------------------------------------------------------

def candidate_paths(spec: ImageDatasetSpec, f: ImageFile, root: Path) -> list[Path]:
    """Every path under ``root`` where ``f`` may be stored, preferred (extracted) first."""
    names = [f.name, f.name + ".gz"] if spec.gz_ok else [f.name]
    return [d / n for d in spec.dirs(root) for n in names]


def find_file(spec: ImageDatasetSpec, f: ImageFile, root: Path) -> Path | None:
    """The first existing candidate path of ``f`` under ``root``, or None."""
    return next((p for p in candidate_paths(spec, f, root) if p.is_file()), None)


def read_content(path: Path, gz: bool | None = None) -> bytes:
    """The published content of ``path``: its bytes, gunzipped when ``gz`` (default: name ends in .gz)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if not (path.suffix == ".gz" if gz is None else gz):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{path} is not a complete gzip file ({exc}); delete it and re-fetch the dataset"
        ) from exc


_MD5_CACHE: dict[tuple[str, int, int], str] = {}


def _cache_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def content_md5(path: Path, content: bytes | None = None) -> str:
    """md5 of the published (uncompressed) content of ``path``, cached per (path, size, mtime)."""
    key = _cache_key(path)
    if key not in _MD5_CACHE:
        data = read_content(path) if content is None else content
        _MD5_CACHE[key] = hashlib.md5(data).hexdigest()
    return _MD5_CACHE[key]


def remember_md5(path: Path, md5: str) -> None:
    """Record the content md5 of a file just written and verified, so loading it skips re-hashing."""
    _MD5_CACHE[_cache_key(path)] = md5


def checksum_error(path: Path, expected: str, actual: str, name: str, root: Path | None = None) -> DataError:
    """The DataError for a file whose md5 is not the published one."""
    what = "uncompressed content of " if path.suffix == ".gz" else ""
    return DataError(
        f"checksum mismatch for {path}: md5 of the {what}file is {actual}, expected {expected}. "
        f"The file is corrupt or not the published one: delete it and re-fetch with "
        f"`{fetch_command(name, root)}`"
    )


def verify_file(spec: ImageDatasetSpec, f: ImageFile, path: Path, root: Path | None = None,
                content: bytes | None = None) -> None:
    """Raise DataError unless the content of ``path`` has ``f``'s published md5."""
    actual = content_md5(path, content)
    if actual != f.md5:
        raise checksum_error(path, f.md5, actual, spec.name, root)


def missing_error(spec: ImageDatasetSpec, files: list[ImageFile], root: Path) -> DataError:
    """The DataError for files that are not under ``root``, naming where they were looked for."""
    looked = "; ".join(" or ".join(str(p) for p in candidate_paths(spec, f, root)) for f in files)
    return DataError(
        f"{spec.title} not found under data root {root}: missing {looked}. "
        f"Run `{fetch_command(spec.name, root)}` (add `--mirror DIR` for a local copy in torchvision's "
        f"layout), or set IMBENCH_DATA to a root that holds it."
    )


# ---------------------------------------------------------------------------------------------
# Parsers
# ---------------------------------------------------------------------------------------------

def parse_idx(data: bytes, source: str | os.PathLike) -> np.ndarray:
    """Parse an unsigned-byte idx file (``0x00 0x00 0x08 ndim``, big-endian dims, then the data).

    Parameters
    ----------
    data : bytes
        The uncompressed file content.
    source : str or PathLike
        File name used in error messages.

    Returns
    -------
    numpy.ndarray
        A writable uint8 array of the stored shape.
    """
    if len(data) < 4:
        raise DataError(f"{source}: truncated idx file ({len(data)} bytes); delete it and re-fetch")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08 or not 1 <= ndim <= 4:
        raise DataError(f"{source}: not an unsigned-byte idx file (magic {data[:4].hex()}, "
                        f"expected 000008NN); delete it and re-fetch")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source}: truncated idx header; delete it and re-fetch")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(dims))
    if len(data) - header != expected:
        raise DataError(f"{source}: truncated or oversized idx file: header says {dims} "
                        f"({expected} bytes of data) but it holds {len(data) - header}; "
                        f"delete it and re-fetch")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def encode_idx(array: np.ndarray) -> bytes:
    """Serialise a uint8 array as an idx file (the inverse of :func:`parse_idx`)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: a data file must not run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):  # noqa: ANN201
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        if module.startswith("numpy.core") and hasattr(np, "_core"):
            module = "numpy._core" + module[len("numpy.core"):]  # numpy 2 renamed numpy.core
        return getattr(importlib.import_module(module), name)


def load_pickle(data: bytes, source: str | os.PathLike) -> object:
    """Unpickle a data file that holds only numpy arrays and plain containers."""
    try:
        return _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise DataError(f"{source}: cannot unpickle ({exc}); delete it and re-fetch") from exc


def _cifar_batch(data: bytes, source: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = load_pickle(data, source)
    if not isinstance(batch, dict):
        raise DataError(f"{source}: expected a pickled dict with b'data' and b'labels'")
    get = lambda k: batch.get(k.encode(), batch.get(k))  # noqa: E731 - py2 pickles give bytes keys
    x, y = get("data"), get("labels")
    if x is None or y is None:
        raise DataError(f"{source}: CIFAR batch lacks b'data' or b'labels' (keys: {list(batch)})")
    x = np.asarray(x, dtype=np.uint8)
    if x.ndim != 2 or x.shape[1] != 3 * 32 * 32 or len(x) != len(y):
        raise DataError(f"{source}: CIFAR batch has data {x.shape} and {len(y)} labels, "
                        f"expected (N, 3072) and N")
    return x.reshape(-1, 3, 32, 32), np.asarray(y, dtype=np.int64)


def _svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import loadmat

    try:
        mat = loadmat(path)
    except Exception as exc:  # noqa: BLE001 - scipy raises several types for a bad file
        raise DataError(f"{path}: cannot read .mat file ({exc}); delete it and re-fetch") from exc
    if "X" not in mat or "y" not in mat:
        raise DataError(f"{path}: .mat file lacks 'X' or 'y'")
    x, y = mat["X"], np.asarray(mat["y"], dtype=np.int64).reshape(-1)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise DataError(f"{path}: SVHN X has shape {x.shape}, expected (32, 32, 3, N) with N = {len(y)}")
    y[y == 10] = 0  # SVHN stores the digit 0 as label 10
    return np.ascontiguousarray(x.transpose(3, 2, 0, 1), dtype=np.uint8), y


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

def _read_checked(spec: ImageDatasetSpec, f: ImageFile, path: Path, root: Path, verify: bool) -> bytes:
    content = read_content(path)
    if verify:
        verify_file(spec, f, path, root, content)
    return content


def _load_idx_pair(spec: ImageDatasetSpec, paths: dict[str, Path], files: dict[str, ImageFile],
                   root: Path, verify: bool) -> tuple[np.ndarray, np.ndarray]:
    arrays = {}
    for role in ("images", "labels"):
        content = _read_checked(spec, files[role], paths[role], root, verify)
        arrays[role] = parse_idx(content, paths[role])
    x, y = arrays["images"], arrays["labels"]
    c, h, w = spec.shape
    if x.ndim != 3 or x.shape[1:] != (h, w) or y.ndim != 1 or len(x) != len(y):
        raise DataError(f"{paths['images']} / {paths['labels']}: images {x.shape} and labels {y.shape} "
                        f"do not form an (N, {h}, {w}) / (N,) pair")
    return x.reshape(len(x), c, h, w), y.astype(np.int64)


def load_image_dataset(name: str, root: str | os.PathLike, split: str, *,
                       verify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of an image dataset stored in torchvision's layout.

    Parameters
    ----------
    name : str
        One of ``IMAGE_DATASETS`` (mnist, fmnist, cifar10, svhn).
    root : str or PathLike
        Data root, e.g. ``<root>/MNIST/raw/train-images-idx3-ubyte[.gz]``.
    split : {"train", "test"}
        The official split.
    verify : bool
        Check each file's md5 against the published one (cached per path, size and mtime).

    Returns
    -------
    images : numpy.ndarray
        uint8, shape (N, C, H, W).
    labels : numpy.ndarray
        int64, shape (N,), values 0..9.
    """
    spec = get_spec(name)
    if split not in SPLITS:
        raise DataError(f"split must be one of {SPLITS}, got {split!r}")
    root = Path(root).expanduser()
    files = spec.split_files(split)
    found = {f.name: find_file(spec, f, root) for f in files}
    missing = [f for f in files if found[f.name] is None]
    if missing:
        raise missing_error(spec, missing, root)
    if spec.gz_ok:
        by_role = {f.role: f for f in files}
        paths = {f.role: found[f.name] for f in files}
        return _load_idx_pair(spec, paths, by_role, root, verify)
    if spec.name == "svhn":
        (f,) = files
        path = found[f.name]
        if verify:
            verify_file(spec, f, path, root)
        return _svhn_mat(path)
    parts = [_cifar_batch(_read_checked(spec, f, found[f.name], root, verify), found[f.name]) for f in files]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
