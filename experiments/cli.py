"""The command line: ``python -m experiments [name] [--key=value ...] [--resume RUN_DIR]``,
``python -m experiments <name> --help`` and ``python -m experiments <name> <command> ...``
for the inference subcommands (``make experiment NAME=... ARGS=...`` calls the same)."""

from __future__ import annotations

import sys

from experiments.registry import EXPERIMENTS, listing, load

USAGE = (
    "usage: python -m experiments <name> [--key=value ...] [--resume RUN_DIR]\n"
    '       (make experiment NAME=<name> ARGS="--key=value ...")\n'
    "       python -m experiments <name> --help   shows the config keys and defaults"
)


def _help(name: str) -> str:
    from experiments.core.config import field_types

    config = EXPERIMENTS[name].config
    cfg = config()
    lines = [f"{name}: {EXPERIMENTS[name].description}", "keys:"]
    for key, tp in field_types(config).items():
        lines.append(f"  --{key}={getattr(cfg, key)!r}  ({getattr(tp, '__name__', tp)})")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run the command line ``argv`` (without the program name); returns the exit status."""
    if not argv or argv[0] in ("-h", "--help", "list"):
        print(listing())
        return 0
    name, args = argv[0], argv[1:]
    if name not in EXPERIMENTS:
        print(
            f"error: unknown experiment {name!r}; expected one of: {', '.join(EXPERIMENTS)}",
            file=sys.stderr,
        )
        return 2
    if args and args[0] in EXPERIMENTS[name].commands:
        return load(name).command(args)
    if "-h" in args or "--help" in args:
        print(_help(name))
        return 0
    from experiments.core.config import ConfigError, parse_args
    from experiments.core.mesh import maybe_initialize_distributed
    from experiments.core.nonfinite import NonFiniteError
    from experiments.core.run import metrics_table
    from experiments.core.train import Interrupted

    maybe_initialize_distributed()  # multi-host: before any JAX computation
    module = load(name)
    try:
        cfg, resume = parse_args(EXPERIMENTS[name].config, args)
    except ConfigError as err:
        print(f"error: {err}\n{USAGE}", file=sys.stderr)
        return 2
    try:
        metrics = module.main(cfg, resume=resume)
    except Interrupted as err:
        print(
            f"\n{err}\nresume with: python -m experiments {name} --resume {err.run_dir}",
            file=sys.stderr,
        )
        return 130
    except NonFiniteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(metrics_table(metrics))
    return 0
