"""One module per experiment, each with ``main(cfg, resume) -> dict`` (see
:mod:`experiments.registry`)."""
