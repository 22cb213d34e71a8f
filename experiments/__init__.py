"""Experiments: ``python -m experiments <name> [--key=value ...]`` (or ``make experiment``).

``core/`` is the training framework, ``data/`` finds and reads data sets, ``models/`` holds
model code shared by several tasks, ``tasks/`` has one module per experiment,
:mod:`experiments.registry` names them and :mod:`experiments.cli` is the command line.
"""
