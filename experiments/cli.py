"""The command line (``python -m experiments``; ``make experiment NAME=... ARGS=...``)::

    python -m experiments                                  list the experiments
    python -m experiments NAME --help                      keys, types, choices, defaults
    python -m experiments NAME [--preset=quick] [--key=value ...]   train
    python -m experiments NAME --resume RUN_DIR [--steps=N]         continue a run
    python -m experiments NAME [--key=value ...] --publish[=FILE]   train, then write the
                                            final metrics to docs/results/FILE.json (cited)
    python -m experiments NAME COMMAND ...                 inference (e.g. sentiment predict)

This module is the one error boundary: a :class:`~experiments.core.errors.UserError` (bad
config, data not found, bad data file, sizes, devices, run directory) prints one
``error: ...`` line and exits 2; any other exception is a bug and keeps its traceback.
Listing and help import only the configs, not JAX.
"""

from __future__ import annotations

import datetime
import os
import re
import shlex
import sys
import time

from experiments.core.args import RESUMABLE, parse_args
from experiments.core.config import describe, field_docs, field_types, format_value
from experiments.core.errors import ConfigError, UserError
from experiments.core.publish import loadavg, split_publish
from experiments.registry import EXPERIMENTS, listing, load

USAGE = "usage: python -m experiments [NAME [--help | --preset=quick | --key=value ... | COMMAND]]"


def help_text(name: str) -> str:
    """``--help`` of experiment ``name``: every key with its type or choices, its default in
    a form the parser accepts, and the first sentence of its description."""
    exp = EXPERIMENTS[name]
    cfg, types, docs = exp.config(), field_types(exp.config), field_docs(exp.config)
    lines = [
        f"{name}: {exp.description}",
        f"usage: python -m experiments {name} [--preset=NAME] [--key=value ...]",
        f"       python -m experiments {name} --resume RUN_DIR [--steps=N ...]"
        f" (may change: {', '.join(RESUMABLE)})",
    ]
    if exp.commands:
        lines.append(f"       python -m experiments {name} {'|'.join(exp.commands)} --help")
    for preset, values in exp.config.PRESETS.items():
        lines.append(f"--preset={preset}: {' '.join(f'--{k}={v}' for k, v in values.items())}")
    lines.append("keys (default, accepted values, meaning):")
    for key, tp in types.items():
        arg = f"--{key}={format_value(getattr(cfg, key))}"
        arg = shlex.quote(arg) if arg.isprintable() else "$" + repr(arg)  # bash $'..\n..'
        doc = re.split(r"(?<=[a-z0-9)])\. ", docs.get(key, ""))[0].rstrip(".")
        lines.append(f"  {arg:<28} {describe(tp)}; {doc}")
    return "\n".join(lines)


def _set_host_devices(n: int) -> None:
    """Ask XLA for ``n`` CPU devices (0: one per core) unless XLA_FLAGS already says, or
    JAX was imported before this entry point (then it may have its devices already)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if n == 1 or "xla_force_host_platform_device_count" in flags or "jax" in sys.modules:
        return
    count = n or os.cpu_count() or 1
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


def _train(name: str, args: list[str]) -> int:
    started, t0, load0 = datetime.datetime.now(datetime.UTC), time.perf_counter(), loadavg()
    args, publish = split_publish(name, args)
    cfg, resume = parse_args(EXPERIMENTS[name].config, args)
    if publish is not None and resume is not None:
        raise ConfigError("--publish: expected a run from the start, not --resume (its wall "
                          "time would be that of the last part only)")  # fmt: skip
    _set_host_devices(cfg.host_devices)
    from experiments.core.mesh import maybe_initialize_distributed
    from experiments.core.nonfinite import NonFiniteError
    from experiments.core.run import metrics_table
    from experiments.core.train import Interrupted

    maybe_initialize_distributed()  # multi-host: before any JAX computation
    try:
        metrics = load(name).main(cfg, resume=resume)
    except Interrupted as err:
        print(f"\n{err}\nresume with: python -m experiments {name} --resume {err.run_dir}",
              file=sys.stderr)  # fmt: skip
        return 130
    except NonFiniteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # XLA reports running out of memory as a runtime error
        if "RESOURCE_EXHAUSTED" not in str(err):
            raise
        first = str(err).strip().splitlines()[0]
        raise ConfigError(
            f"expected sizes that fit in memory, got {first}; lower --batch_size or the "
            "model / sequence sizes"
        ) from None
    print(metrics_table(metrics))
    if publish is not None:
        from experiments.core import publish as pub
        from experiments.core.args import config_to_dict
        from experiments.core.run import is_primary

        wall_s = time.perf_counter() - t0
        data = pub.record(name, args, config_to_dict(cfg), metrics, started=started,
                          wall_s=wall_s, loadavg_start=load0)  # fmt: skip
        if is_primary():
            print(f"published: {pub.write(publish, data)}")
    return 0


def main(argv: list[str]) -> int:
    """Run the command line ``argv`` (without the program name); returns the exit status."""
    if not argv or argv[0] in ("-h", "--help", "list"):
        print(listing())
        return 0
    name, args = argv[0], argv[1:]
    try:
        if name not in EXPERIMENTS:
            raise ConfigError(
                f"expected an experiment name ({', '.join(EXPERIMENTS)}), got {name!r}"
            )
        if args and args[0] in EXPERIMENTS[name].commands:
            return load(name).command(args)
        if "-h" in args or "--help" in args:
            print(help_text(name))
            return 0
        return _train(name, args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
