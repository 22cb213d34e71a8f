"""The ``--key=value`` command line of a config, its presets, ``--resume`` and config.json.

:func:`parse_args` turns ``["--preset=quick", "--lr=3e-4"]`` into a validated config: a
preset's overrides first, then the explicit ones; each value is parsed from the text by the
field's type (``--T_values=50,100``, ``--attention`` alone means true). With ``--resume DIR``
the config comes from ``DIR/config.json`` and only :data:`RESUMABLE` keys may change.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import typing
from pathlib import Path
from typing import Any, Literal

from experiments.core.config import check_value, describe, field_types, format_value, unwrap_type
from experiments.core.errors import ConfigError, RunDirError

#: keys a resumed run may change: they alter neither the shapes in the checkpoints nor the
#: data of any step
RESUMABLE = (
    "steps",
    "eval_every",
    "log_every",
    "ckpt_every",
    "keep",
    "devices",
    "host_devices",
    "progress",
    "tensorboard",
)
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_value(key: str, text: str, tp: Any) -> Any:
    """The value of ``--key=text`` for a field of type ``tp`` (checked by ``check_value``).

    Example:
        >>> from experiments.core.config import Length
        >>> parse_value("T_values", "50,100, 200", tuple[Length, ...])
        (50, 100, 200)
    """
    base, _ = unwrap_type(tp)
    origin = typing.get_origin(base)
    try:  # ConfigError of an item is a ValueError too: the message names the whole field
        if origin is Literal:
            value = next((v for v in typing.get_args(base) if str(v) == text), text)
        elif origin is tuple:
            item = typing.get_args(base)[0]
            value = tuple(parse_value(key, t.strip(), item) for t in text.split(",") if t.strip())
        elif base is bool:
            value = True if text.lower() in _TRUE else False if text.lower() in _FALSE else text
        else:
            value = base(text)
    except ValueError:
        raise ConfigError(f"--{key}: expected {describe(tp)}, got {text!r}") from None
    return check_value(key, value, tp)


def _split(cls: type, argv: list[str]) -> tuple[dict[str, str], str | None, str | None]:
    """``(overrides, preset, resume)`` from ``--key=value`` / ``--key value`` arguments."""
    types = field_types(cls)
    overrides: dict[str, str] = {}
    extra: dict[str, str | None] = {"preset": None, "resume": None}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if not arg.startswith("--") or arg == "--":
            raise ConfigError(f"expected --key=value, got {arg!r}")
        key, eq, value = arg[2:].partition("=")
        key = key.replace("-", "_")
        if key not in types and key not in extra:
            near = difflib.get_close_matches(key, [*types, *extra], n=1)
            hint = f" (did you mean --{near[0]}?)" if near else ""
            raise ConfigError(f"unknown key --{key}{hint}; --help lists the keys")
        if not eq:
            if key in types and types[key] is bool:
                value = "true"
            elif args and not args[0].startswith("--"):
                value = args.pop(0)
            else:
                raise ConfigError(f"--{key}: expected a value (--{key}=VALUE), got none")
        if key in extra:
            extra[key] = value
        else:
            overrides[key] = value
    return overrides, extra["preset"], extra["resume"]


def parse_args(cls: type, argv: list[str]) -> tuple[Any, str | None]:
    """Parse ``[--preset=NAME] [--key=value ...] [--resume DIR]`` into a config of ``cls``.

    Returns:
        ``(config, resume_dir or None)``.

    Raises:
        ConfigError: a malformed argument, unknown key or preset, a bad value, or a
            ``--resume`` override that is not in :data:`RESUMABLE` (naming the key).
        RunDirError: ``--resume`` names no run directory.

    Example:
        >>> from experiments.core.config import TrainConfig
        >>> cfg, resume = parse_args(TrainConfig, ["--lr=3e-4", "--optimizer=rmsprop"])
        >>> cfg.lr, cfg.optimizer, resume
        (0.0003, 'rmsprop', None)
    """
    overrides, preset, resume = _split(cls, argv)
    types = field_types(cls)
    if resume is not None:
        if preset is not None:
            raise ConfigError("--preset: expected no preset with --resume (the run has its config)")
        base = load_config(cls, Path(resume) / "config.json")
        for key, text in overrides.items():
            if key not in RESUMABLE and parse_value(key, text, types[key]) != getattr(base, key):
                raise ConfigError(
                    f"--{key}: cannot change on --resume (the run has {key}="
                    f"{format_value(getattr(base, key))}; its checkpoints and data depend on it); "
                    f"only --{', --'.join(RESUMABLE)} may change. Start a new run instead"
                )
        return _replace(base, overrides), resume
    if preset is not None:
        if preset not in cls.PRESETS:
            known = "|".join(cls.PRESETS) or "none"
            raise ConfigError(f"--preset: expected one of {known}, got {preset!r}")
        overrides = {**cls.PRESETS[preset], **overrides}
    return _replace(cls(), overrides), None


def _replace(cfg: Any, overrides: dict[str, str]) -> Any:
    types = field_types(type(cfg))
    values = {k: parse_value(k, text, types[k]) for k, text in overrides.items()}
    return dataclasses.replace(cfg, **values)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Dataclass to a JSON-ready dict (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}


def load_config(cls: type, path: Path) -> Any:
    """Read a ``config.json`` written by :func:`config_to_dict` back into ``cls``.

    Raises:
        RunDirError: no such file, or it is not JSON.
        ConfigError: it holds an unknown key or a bad value.
    """
    if not path.is_file():
        missing = path.name if path.parent.is_dir() else "the directory"
        raise RunDirError(
            f"expected a run directory holding {path.name}, got {path.parent} ({missing} is "
            "missing); pass the directory a run printed as 'run directory: ...'"
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise RunDirError(f"{path}: expected JSON, got a damaged file ({err})") from None
    unknown = sorted(set(data) - set(field_types(cls)))
    if unknown:
        raise ConfigError(f"{path}: expected keys of {cls.__name__}, got unknown {unknown}")
    return cls(**data)
