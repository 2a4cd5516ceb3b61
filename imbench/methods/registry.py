"""The registry of methods, built from the method configs and the classes they name.

Every ``conf/method/<name>.yaml`` names its method class with ``_target_``; the class declares its kind,
label, reference and profile caps (:class:`imbench.methods.protocol.Method`), and a config may name its
own label and reference (the resample adapter's configs do). Nothing here is typed twice: a new method is
one module plus one config. Methods of the four papers that do not exist yet are listed in ``PLANNED`` so
that paper tables can show their rows as empty, with the reason.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Mapping

from omegaconf import OmegaConf

from imbench.errors import ConfigError
from imbench.methods.protocol import Method

# keys of a method config that describe it rather than parametrise it (not part of a run's identity)
DESCRIPTIVE_KEYS = ("label", "reference")


@dataclass(frozen=True)
class MethodInfo:
    """What the registry knows of one configured method."""

    name: str
    kind: str
    label: str
    reference: str
    cls: type


def config_dir() -> Path:
    """The packaged Hydra configs (``imbench/conf``)."""
    return Path(str(resources.files("imbench") / "conf"))


def load_method_config(name: str, directory: Path | None = None) -> dict:
    """``conf/method/<name>.yaml`` with its ``defaults`` (other method configs, then ``_self_``) merged,
    as Hydra composes it."""
    directory = directory or config_dir() / "method"
    path = directory / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"no method config {path}; valid methods: {', '.join(method_names(directory))}")
    own = OmegaConf.load(path)
    defaults = list(own.pop("defaults", [])) or ["_self_"]
    merged = OmegaConf.create()
    for entry in defaults:
        merged = OmegaConf.merge(merged, own if entry == "_self_" else load_method_config(str(entry), directory))
    if "_self_" not in defaults:
        merged = OmegaConf.merge(merged, own)
    return OmegaConf.to_container(merged, resolve=True)


def method_names(directory: Path | None = None) -> list[str]:
    directory = directory or config_dir() / "method"
    return sorted(p.stem for p in directory.glob("*.yaml"))


def method_class(cfg: Mapping[str, Any]) -> type[Method]:
    """The :class:`Method` subclass a method config names with ``_target_``."""
    from hydra.utils import get_object

    name, target = cfg.get("name", "?"), cfg.get("_target_")
    if not target:
        raise ConfigError(f"method {name!r} has no _target_ naming its class (a subclass of "
                          "imbench.methods.protocol.Method, e.g. imbench.methods.resample.Resample)")
    try:
        cls = get_object(target)
    except Exception as e:  # Hydra wraps import errors in its own types
        raise ConfigError(f"method {name!r}: _target_ {target!r} cannot be imported: {e}") from e
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise ConfigError(f"method {name!r}: _target_ {target!r} is not a subclass of imbench.methods.protocol.Method")
    return cls


def build_method(cfg: Mapping[str, Any]) -> Method:
    """Instantiate the configured method (its nested configs, such as a sampler's, stay configs)."""
    from hydra.utils import instantiate

    cls = method_class(cfg)
    accepted = inspect.signature(cls.__init__).parameters
    # name, label and reference describe the method; a class gets them only when its constructor asks
    params = {k: v for k, v in cfg.items()
              if k != "_target_" and (k not in ("name", *DESCRIPTIVE_KEYS) or k in accepted)}
    try:
        return instantiate({"_target_": cfg["_target_"], **params}, _recursive_=False, _convert_="all")
    except Exception as e:
        cause = e.__cause__ or e
        if isinstance(cause, ConfigError):
            raise cause from None
        raise ConfigError(f"method {cfg.get('name')!r} could not be built from its config: {cause}") from e


def info_from_config(cfg: Mapping[str, Any]) -> MethodInfo:
    cls = method_class(cfg)
    desc = cls.describe(cfg)
    return MethodInfo(cfg["name"], cls.kind, desc["label"], desc["reference"], cls)


class _Registry(Mapping[str, MethodInfo]):
    """name -> :class:`MethodInfo` for every packaged method config, read on first use."""

    @staticmethod
    @lru_cache(maxsize=1)
    def _load() -> dict[str, MethodInfo]:
        return {n: info_from_config(load_method_config(n)) for n in method_names()}

    def __getitem__(self, name: str) -> MethodInfo:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


METHODS: Mapping[str, MethodInfo] = _Registry()

# Methods of the four papers that are not implemented yet, with the paper that defines them.
PLANNED: dict[str, str] = {}

# Methods of the papers that imbench cannot run, with the reason a table prints in their empty cells.
NOT_RUNNABLE: dict[str, str] = {
    "mesa": ("MESA (Liu et al. 2020) is in no maintained package reachable here: imbalanced-ensemble 0.2.3, its "
             "author's library on PyPI, ships Self-Paced Ensemble but not MESA (wheel checked 2026-12-02). The EGL "
             "paper copied MESA's numbers from the MESA paper; imbench never copies a number into a table"),
}


def method_label(name: str) -> str:
    """Display label for tables; planned methods show their upper-cased name."""
    return METHODS[name].label if name in METHODS else name.upper().replace("_", "-")
