"""The mistakes a user can fix. :mod:`experiments.cli` prints each as one ``error: ...`` line
(what was expected, what came, how to fix it) and exits with status 2; any other exception
is a bug and keeps its traceback."""

from __future__ import annotations


class UserError(Exception):
    """Base of every error caused by the command line, the data or a run directory."""


class ConfigError(UserError, ValueError):
    """A bad command line or config value, or sizes that do not fit together (a batch larger
    than the data set, devices that do not divide the batch); the message names the key."""


class DataNotFoundError(UserError, FileNotFoundError):
    """No copy of a dataset was found and none could be downloaded; the message says where
    it looked and what to set."""


class DataFileError(UserError, ValueError):
    """A data file that cannot be used: not text, cut short, malformed lines, or a download
    whose checksum does not match; the message names the file (and line)."""


class RunDirError(UserError, ValueError):
    """A run directory that cannot be resumed or loaded: missing files, parameters of another
    model, no readable checkpoint."""
