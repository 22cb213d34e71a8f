"""Frozen-dataclass configs, checked in one place from their field types.

Every experiment's config subclasses :class:`TrainConfig`. A field's annotation is its whole
contract: ``Literal`` gives the choices, ``Annotated[int, Range(1)]`` the range,
``tuple[X, ...]`` a non-empty comma list (``50,100,200,400``), :class:`Increasing` an
increasing one. :func:`validate` runs for every config on construction, whatever the subclass,
and a subclass cannot redeclare an inherited field with another type (that would drop its
check); cross-field rules go in a ``check`` method, and every ``check`` of the class
hierarchy runs. The same annotations drive parsing (:mod:`experiments.core.args`) and
``--help``. Only the standard library is imported, so ``--help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import typing
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from experiments.core.errors import ConfigError


class Range(NamedTuple):
    """Bounds of a number: ``lo <= x <= hi``; ``lo_open``/``hi_open`` make them strict."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def holds(self, x: float) -> bool:
        above = self.lo is None or (x > self.lo if self.lo_open else x >= self.lo)
        below = self.hi is None or (x < self.hi if self.hi_open else x <= self.hi)
        return above and below

    def describe(self) -> str:
        """``>= 1``, ``> 0`` or ``in [0, 1)``."""
        if self.hi is None:
            return f"{'>' if self.lo_open else '>='} {self.lo}"
        left, right = "([" [not self.lo_open], ")]" [not self.hi_open]
        return f"in {left}{self.lo}, {self.hi}{right}"


class Increasing(NamedTuple):
    """Marks a tuple field whose items must increase strictly."""


class NonEmpty(NamedTuple):
    """Marks a text field that must not be empty."""


Positive = Annotated[int, Range(1)]
NonNegative = Annotated[int, Range(0)]
PositiveFloat = Annotated[float, Range(0, lo_open=True)]
NonNegativeFloat = Annotated[float, Range(0)]
Rate = Annotated[float, Range(0, 1, hi_open=True)]  # a dropout rate: [0, 1)
Fraction = Annotated[float, Range(0, 1, lo_open=True, hi_open=True)]  # a split: (0, 1)
Length = Annotated[int, Range(2)]  # a sequence length
Optimizer = Literal["adam", "adamw", "rmsprop", "sgd"]
Schedule = Literal["constant", "cosine", "warmup_cosine"]
NonFinite = Literal["stop", "skip"]


def describe(tp: Any) -> str:
    """What a field of type ``tp`` accepts, in words.

    Example:
        >>> describe(tuple[Length, ...]), describe(Rate), describe(Literal["a", "b"])
        ('a comma list of int >= 2', 'a float in [0, 1)', 'one of a|b')
    """
    base, marks = unwrap_type(tp)
    origin = typing.get_origin(base)
    if origin is Literal:
        return "one of " + "|".join(map(str, typing.get_args(base)))
    if origin is tuple:
        item = re.sub(r"^(an?|one of) ", "", describe(typing.get_args(base)[0]))
        increasing = any(isinstance(m, Increasing) for m in marks)
        return f"a comma list of {item}" + (", increasing" if increasing else "")
    name = {bool: "true|false", int: "an int", float: "a float", str: "text"}[base]
    ranges = [m.describe() for m in marks if isinstance(m, Range)]
    if any(isinstance(m, NonEmpty) for m in marks):
        ranges.append("(not empty)")
    return " ".join([name, *ranges])


def format_value(value: Any) -> str:
    """A value as it is typed on the command line: ``50,100``, ``true``, ``0.001``."""
    if isinstance(value, tuple):
        return ",".join(map(format_value, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def unwrap_type(tp: Any) -> tuple[Any, tuple[Any, ...]]:
    """``(base type, Annotated marks)`` of a field type (no marks for a plain type)."""
    if typing.get_origin(tp) is Annotated:
        base, *marks = typing.get_args(tp)
        return base, tuple(marks)
    return tp, ()


def check_value(key: str, value: Any, tp: Any) -> Any:
    """``value`` if it fits the type ``tp`` (ints become floats, lists tuples), else a
    one-line :class:`ConfigError` ``--key: expected ..., got ...``."""
    base, marks = unwrap_type(tp)
    origin = typing.get_origin(base)
    ok = True
    if origin is Literal:
        ok = value in typing.get_args(base) and type(value) is type(typing.get_args(base)[0])
    elif origin is tuple:
        if not isinstance(value, (tuple, list)) or not value:
            ok = False
        else:
            try:
                value = tuple(check_value(key, v, typing.get_args(base)[0]) for v in value)
            except ConfigError:
                ok = False
            if ok and any(isinstance(m, Increasing) for m in marks):
                ok = all(a < b for a, b in zip(value, value[1:]))
    elif base is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    elif not isinstance(value, base) or (base is int and isinstance(value, bool)):
        ok = False
    if ok and base in (int, float):
        ok = all(m.holds(value) for m in marks if isinstance(m, Range))
    if ok and base is str and any(isinstance(m, NonEmpty) for m in marks):
        ok = value != ""
    if not ok:
        got = format_value(value) if isinstance(value, (tuple, list)) else value
        raise ConfigError(f"--{key}: expected {describe(tp)}, got {got!r}")
    return value


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """Each dataclass field of ``cls`` with its resolved annotation (``Annotated`` kept)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Each field's description from the ``Attributes:`` sections of ``cls`` and its bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        section = re.split(r"^Attributes:\s*$", inspect.cleandoc(vars(klass).get("__doc__") or ""),
                           flags=re.M)  # fmt: skip
        if len(section) < 2:
            continue
        name = None
        for line in section[1].splitlines():
            entry = re.match(r"^    (\w+): (.*)$", line)
            if entry:
                name = entry.group(1)
                docs[name] = entry.group(2)
            elif line.startswith("        ") and name:
                docs[name] += " " + line.strip()
            elif line.strip():
                break
    return docs


def validate(cfg: Any) -> None:
    """Check every field of ``cfg`` against its type, then every ``check`` of its classes.

    Raises:
        ConfigError: the first field that does not fit, naming it.
    """
    for key, tp in field_types(type(cfg)).items():
        object.__setattr__(cfg, key, check_value(key, getattr(cfg, key), tp))
    for klass in reversed(type(cfg).__mro__):
        if "check" in vars(klass):
            vars(klass)["check"](cfg)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters shared by every experiment's training loop.

    Attributes:
        seed: seed of parameters, data order and evaluation sets (a resumed run is
            bit-identical).
        steps: optimizer steps per training run.
        batch_size: examples per step (the global batch, split over the devices).
        optimizer: the Optax optimizer.
        lr: peak learning rate.
        weight_decay: decoupled weight decay (adamw only).
        schedule: learning rate over the steps: constant, cosine decay to 0, or linear
            warm-up then cosine.
        warmup_steps: warm-up length of warmup_cosine, at most steps.
        clip: global-norm gradient clipping threshold (0 disables it).
        eval_every: evaluate every this many steps (and at the end).
        log_every: write a metrics record and refresh the progress bar this often.
        ckpt_every: save a checkpoint every this many steps (and at the end).
        keep: number of checkpoints kept.
        nonfinite: on a NaN/inf loss or gradient, stop (naming the step) or skip the
            update and count it.
        devices: split each batch over this many devices (0: all devices of all processes).
        host_devices: on CPU, expose this many host devices to split batches over (0: one
            per core); read before JAX starts, ignored if XLA_FLAGS already sets it.
        runs_dir: root of the run directories <runs_dir>/<name>/<timestamp>/.
        progress: show the progress bar (process 0 only).
        tensorboard: also write TensorBoard event files beside metrics.jsonl (needs
            tensorboardX).
    """

    #: named sets of ``--key=value`` overrides, e.g. ``{"quick": {"steps": "300"}}``
    PRESETS: ClassVar[dict[str, dict[str, str]]] = {}

    seed: NonNegative = 0
    steps: Positive = 1000
    batch_size: Positive = 32
    optimizer: Optimizer = "adam"
    lr: PositiveFloat = 1e-3
    weight_decay: NonNegativeFloat = 0.0
    schedule: Schedule = "constant"
    warmup_steps: NonNegative = 0
    clip: NonNegativeFloat = 1.0
    eval_every: Positive = 100
    log_every: Positive = 10
    ckpt_every: Positive = 200
    keep: Positive = 3
    nonfinite: NonFinite = "stop"
    devices: NonNegative = 0
    host_devices: NonNegative = 1
    runs_dir: Annotated[str, NonEmpty()] = "runs"
    progress: bool = True
    tensorboard: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__post_init__" in vars(cls):
            raise TypeError(f"{cls.__name__}: put cross-field rules in check(), not __post_init__")
        own = inspect.get_annotations(cls)
        for base in cls.__mro__[1:]:
            for key, tp in inspect.get_annotations(base).items():
                if key in own and own[key] != tp:
                    raise TypeError(
                        f"{cls.__name__}.{key}: expected the inherited type {tp}, got {own[key]}"
                    )

    def __post_init__(self) -> None:
        validate(self)

    def check(self) -> None:
        """Rules between fields of this class (subclasses add their own ``check``)."""
        if self.warmup_steps > self.steps:
            raise ConfigError(
                f"--warmup_steps: expected an int in [0, steps={self.steps}], "
                f"got {self.warmup_steps}"
            )
