"""``python -m experiments [name] [--key=value ...] [--resume RUN_DIR]``."""

from __future__ import annotations

import sys

from experiments import EXPERIMENTS, listing, load
from experiments.config import ConfigError, parse_args
from experiments.run import metrics_table
from experiments.train import Interrupted, NonFiniteError

USAGE = (
    "usage: python -m experiments <name> [--key=value ...] [--resume RUN_DIR]\n"
    '       (make experiment NAME=<name> ARGS="--key=value ...")\n'
    "       python -m experiments <name> --help   shows the config keys and defaults"
)


def _help(module) -> str:
    from experiments.config import field_types

    cfg = module.Config()
    lines = [f"{module.__name__}: {(module.__doc__ or '').strip().splitlines()[0]}", "keys:"]
    for key, tp in field_types(module.Config).items():
        lines.append(f"  --{key}={getattr(cfg, key)!r}  ({getattr(tp, '__name__', tp)})")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
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
    from experiments.mesh import maybe_initialize_distributed

    maybe_initialize_distributed()  # multi-host: before any JAX computation
    module = load(name)
    if "-h" in args or "--help" in args:
        print(_help(module))
        return 0
    try:
        cfg, resume = parse_args(module.Config, args)
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
