"""Frozen-dataclass configs and the shared ``--key=value`` command line.

Every experiment's ``Config`` subclasses :class:`TrainConfig` (the fields the shared
training loop reads) and adds its own. :func:`parse_args` turns ``["--lr=3e-4",
"--model=lstm"]`` into a validated ``Config``; unknown keys and values of the wrong type
raise :class:`ConfigError` naming the key and what it accepts.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, Literal


class ConfigError(ValueError):
    """A bad command line or config value; the message names the key."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters shared by every experiment's training loop.

    Attributes:
        seed: seeds parameters, data order and evaluation sets (data of step ``k`` is a
            pure function of ``(seed, k)``, so a resumed run is bit-identical).
        steps: optimizer steps per training run.
        batch_size: examples per step.
        optimizer: ``adam``, ``adamw``, ``rmsprop`` or ``sgd``.
        lr: peak learning rate.
        weight_decay: decoupled weight decay (``adamw`` only).
        schedule: ``constant``, ``cosine`` (decay to 0) or ``warmup_cosine``.
        warmup_steps: linear warm-up length for ``warmup_cosine``.
        clip: global-norm gradient clipping threshold (0 disables it).
        eval_every: evaluate every this many steps (and at the end).
        log_every: write a metrics record and refresh the progress bar this often.
        ckpt_every: save a checkpoint every this many steps (and at the end).
        keep: number of checkpoints kept.
        nonfinite: ``stop`` raises at the first step whose loss or gradient is NaN/inf;
            ``skip`` drops that update and counts it.
        devices: data-parallel over this many devices (0: all devices of all processes);
            the batch is split along its first axis, so it must divide by the count.
        runs_dir: root of the run directories ``<runs_dir>/<name>/<timestamp>/``.
        progress: show the tqdm progress bar.
    """

    seed: int = 0
    steps: int = 1000
    batch_size: int = 32
    optimizer: Literal["adam", "adamw", "rmsprop", "sgd"] = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: Literal["constant", "cosine", "warmup_cosine"] = "constant"
    warmup_steps: int = 0
    clip: float = 1.0
    eval_every: int = 100
    log_every: int = 10
    ckpt_every: int = 200
    keep: int = 3
    nonfinite: Literal["stop", "skip"] = "stop"
    devices: int = 0
    runs_dir: str = "runs"
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "log_every", "ckpt_every", "keep"):
            _require(self, name, getattr(self, name) > 0, "a positive int")
        _require(self, "lr", self.lr > 0, "a positive float")
        _require(self, "clip", self.clip >= 0, "a float >= 0 (0 disables clipping)")
        _require(self, "warmup_steps", 0 <= self.warmup_steps <= self.steps, "an int in [0, steps]")
        _require(self, "weight_decay", self.weight_decay >= 0, "a float >= 0")
        _require(self, "devices", self.devices >= 0, "an int >= 0 (0: all devices)")


def require_positive(cfg: Any, names: tuple[str, ...]) -> None:
    """Raise ConfigError ``--name: expected a positive int`` for the first field < 1."""
    for name in names:
        _require(cfg, name, getattr(cfg, name) >= 1, "a positive int")


def _require(cfg: Any, name: str, ok: bool, expected: str) -> None:
    if not ok:
        raise ConfigError(f"--{name}: expected {expected}, got {getattr(cfg, name)!r}")


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _convert(key: str, text: str, tp: Any) -> Any:
    """Convert ``text`` to the annotated type ``tp`` or raise a ConfigError naming ``key``."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        allowed = typing.get_args(tp)
        for value in allowed:
            if text == str(value):
                return value
        raise ConfigError(f"--{key}: expected one of {', '.join(map(str, allowed))}; got {text!r}")
    if origin is tuple:
        (elem, *rest) = typing.get_args(tp)
        items = [t for t in text.split(",") if t.strip()]
        return tuple(_convert(key, t.strip(), elem) for t in items)
    if tp is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(f"--{key}: expected a bool (true/false/1/0), got {text!r}")
    if tp in (int, float):
        try:
            return tp(text)
        except ValueError:
            raise ConfigError(f"--{key}: expected {tp.__name__}, got {text!r}") from None
    if tp is str:
        return text
    raise ConfigError(f"--{key}: unsupported config type {tp!r}")


def field_types(cls: type) -> dict[str, Any]:
    """Map each dataclass field of ``cls`` to its resolved annotation."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def apply_overrides(cfg: Any, overrides: dict[str, str]) -> Any:
    """Return ``cfg`` with string ``overrides`` converted to the field types.

    Raises:
        ConfigError: for an unknown key or a value of the wrong type.
    """
    types = field_types(type(cfg))
    changes = {}
    for key, text in overrides.items():
        if key not in types:
            known = ", ".join(sorted(types))
            raise ConfigError(f"unknown key --{key}; known keys: {known}")
        changes[key] = _convert(key, text, types[key])
    return dataclasses.replace(cfg, **changes)


def parse_args(cls: type, argv: list[str]) -> tuple[Any, str | None]:
    """Parse ``--key=value`` overrides (and ``--resume <dir>``) into ``cls``.

    With ``--resume DIR`` the config is read from ``DIR/config.json`` and the other
    overrides are applied on top (typically only ``--steps`` to train longer).

    Returns:
        ``(config, resume_dir or None)``.

    Raises:
        ConfigError: on a malformed argument, unknown key or bad value.

    Example:
        >>> from experiments.core.config import TrainConfig, parse_args
        >>> cfg, resume = parse_args(TrainConfig, ["--lr=3e-4", "--optimizer=rmsprop"])
        >>> cfg.lr, cfg.optimizer, resume
        (0.0003, 'rmsprop', None)
    """
    overrides: dict[str, str] = {}
    resume = None
    args = list(argv)
    while args:
        arg = args.pop(0)
        if not arg.startswith("--"):
            raise ConfigError(f"expected --key=value, got {arg!r}")
        key, eq, value = arg[2:].partition("=")
        key = key.replace("-", "_")
        if not eq:
            if key == "resume" and args:
                value = args.pop(0)
            elif key in field_types(cls) and field_types(cls)[key] is bool:
                value = "true"
            else:
                raise ConfigError(f"expected --{key}=value, got {arg!r}")
        if key == "resume":
            resume = value
        else:
            overrides[key] = value
    base = cls()
    if resume is not None:
        base = load_config(cls, Path(resume) / "config.json")
    return apply_overrides(base, overrides), resume


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Dataclass to a JSON-ready dict (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}


def load_config(cls: type, path: Path) -> Any:
    """Read a ``config.json`` written by :func:`config_to_dict` back into ``cls``."""
    if not path.is_file():
        raise ConfigError(f"--resume: expected a run directory containing {path.name}, got {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"--resume: {path} is not valid JSON ({err})") from None
    return apply_overrides(
        cls(),
        {k: ",".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in data.items()},
    )
