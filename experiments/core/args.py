"""The ``--key=value`` command line of a config, its presets, ``--resume`` and config.json.

:func:`parse_args` turns ``["--preset=quick", "--lr=3e-4"]`` into a validated config: a
preset's overrides first, then the explicit ones; each value is parsed from the text by the
field's type (``--T_values=50,100``, ``--attention`` alone means true). With ``--resume DIR``
the config comes from ``DIR/config.json`` and only :data:`RESUMABLE` keys may change.

Prototype (issue 30): the arguments are split and matched to fields by ``tyro.cli``; one
primitive rule gives every field this project's text forms (comma lists, ``--flag`` and
``--flag=false``), and a parse-error hook (``tyro._errors``, private and unstable in tyro)
turns each of tyro's failures back into a one-line :class:`ConfigError`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import typing
from pathlib import Path
from typing import Any, Literal

from experiments.core.config import describe, field_types, format_value
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


def _hook(cls: type):
    """A tyro parse-error hook raising this project's one-line errors for ``cls``."""
    types = field_types(cls)
    from tyro import _errors as ev

    def key_of(argument: Any) -> str:
        return argument.field.intern_name

    def hook(event: Any) -> None:
        if isinstance(event, ev.UnrecognizedArgs):
            tok = event.tokens[0]
            if not tok.startswith("--"):
                raise ConfigError(f"expected --key=value, got {tok!r}")
            key = tok[2:].partition("=")[0].replace("-", "_")
            near = difflib.get_close_matches(key, [*types, "preset", "resume"], n=1)
            hint = f" (did you mean --{near[0]}?)" if near else ""
            raise ConfigError(f"unknown key --{key}{hint}; --help lists the keys")
        if isinstance(event, ev.BadValue):
            key = key_of(event.argument)
            raise ConfigError(f"--{key}: expected a value (--{key}=VALUE), got none")
        if isinstance(event, ev.InvalidChoice):
            key = key_of(event.argument)
            raise ConfigError(f"--{key}: expected {describe(types[key])}, got {event.value!r}")
        if isinstance(event, ev.InstantiationFailure):
            if event.argument is None:  # the config's own check
                raise ConfigError(event.message)
            key = key_of(event.argument)
            raise ConfigError(f"--{key}: expected {describe(types[key])}, got {event.message!r}")

    return hook


def _tyro_registry():
    """tyro and a registry whose one rule parses every field type with :func:`parse_text`."""
    import tyro
    from tyro.constructors import ConstructorRegistry, PrimitiveConstructorSpec, PrimitiveTypeInfo

    registry = ConstructorRegistry()

    @registry.primitive_rule
    def every_field(info: PrimitiveTypeInfo) -> Any:
        tp = info.type
        if tp not in (int, float, str, bool) and typing.get_origin(tp) not in (tuple, Literal):
            return None

        def from_str(a: list[str]) -> Any:
            if not a:  # --flag alone
                return True
            try:
                return parse_text(a[0], tp)
            except ValueError:
                raise ValueError(a[0]) from None

        return PrimitiveConstructorSpec(
            nargs=(0, 1) if tp is bool else 1,
            metavar=describe(tp).upper(),
            instance_from_str=from_str,
            is_instance=lambda x: True,
            str_from_instance=lambda x: [format_value(x)],
        )

    return tyro, registry


def parse_text(text: str, tp: Any) -> Any:
    """Text to a value of base type ``tp`` (ranges are checked by the config), or ValueError."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        for v in typing.get_args(tp):
            if str(v) == text:
                return v
        raise ValueError(text)
    if origin is tuple:
        item = typing.get_args(tp)[0]
        value = tuple(parse_text(t.strip(), item) for t in text.split(",") if t.strip())
        if not value:
            raise ValueError(text)
        return value
    if tp is bool:
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ValueError(text)
    return tp(text)


def _tyro(cls: type, default: Any, argv: list[str]) -> Any:
    """``argv`` (``--key=value`` only) over ``default``, parsed by tyro."""
    tyro, registry = _tyro_registry()
    from tyro import _errors as ev

    with ev.on_parse_error(_hook(cls)):
        return tyro.cli(
            cls,
            args=argv,
            default=default,
            use_underscores=True,
            registry=registry,
            console_outputs=False,
            add_help=False,
            config=(tyro.conf.FlagConversionOff,),
        )


def _extract(argv: list[str]) -> tuple[list[str], str | None, str | None]:
    """``(argv without --preset and --resume, preset, resume)``: keys tyro does not know."""
    extra: dict[str, str | None] = {"preset": None, "resume": None}
    rest, args = [], list(argv)
    while args:
        arg = args.pop(0)
        key, eq, value = arg.partition("=")
        if key in ("--preset", "--resume"):
            extra[key[2:]] = value if eq else (args.pop(0) if args else "")
        else:
            rest.append(arg)
    return rest, extra["preset"], extra["resume"]


def parse_args(cls: type, argv: list[str]) -> tuple[Any, str | None]:
    """Parse ``[--preset=NAME] [--key=value ...] [--resume DIR]`` into a config of ``cls``.

    Example:
        >>> from experiments.core.config import TrainConfig
        >>> cfg, resume = parse_args(TrainConfig, ["--lr=3e-4", "--optimizer=rmsprop"])
        >>> cfg.lr, cfg.optimizer, resume
        (0.0003, 'rmsprop', None)
    """
    argv, preset, resume = _extract(argv)
    if resume is not None:
        if preset is not None:
            raise ConfigError("--preset: expected no preset with --resume (the run has its config)")
        base = load_config(cls, Path(resume) / "config.json")
        cfg = _tyro(cls, base, argv)
        for key in field_types(cls):
            if key not in RESUMABLE and getattr(cfg, key) != getattr(base, key):
                raise ConfigError(
                    f"--{key}: cannot change on --resume (the run has {key}="
                    f"{format_value(getattr(base, key))}; its checkpoints and data depend on it); "
                    f"only --{', --'.join(RESUMABLE)} may change. Start a new run instead"
                )
        return cfg, resume
    if preset is not None:
        if preset not in cls.PRESETS:
            known = "|".join(cls.PRESETS) or "none"
            raise ConfigError(f"--preset: expected one of {known}, got {preset!r}")
        argv = [f"--{k}={v}" for k, v in cls.PRESETS[preset].items()] + argv
    return _tyro(cls, cls(), argv), None


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
