"""Reading data files: bytes to text (gunzipped, UTF-8 checked), each error naming the file."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from experiments.core.errors import DataFileError, DataNotFoundError


def split_lines(text: str) -> list[str]:
    """The lines of ``text``, ending at ``\\n`` or ``\\r\\n`` only.

    ``str.splitlines`` also breaks at U+0085, U+2028 and other Unicode separators, which can
    stand inside a sentence of a data file; that would cut the sentence and shift every
    later line (in a parallel corpus, silently misalign source and target).

    Example:
        >>> split_lines("a\\u2028b\\tc\\r\\nd\\x85e\\n")
        ['a\\u2028b\\tc', 'd\\x85e']
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]

def read_text(path: str | Path) -> str:
    """The UTF-8 text of a data file, gunzipped when its name ends in ``.gz``.

    Raises:
        DataNotFoundError: no such file.
        DataFileError: the file is empty, its gzip stream is cut short or corrupt, or its
            bytes are not UTF-8 (the message gives ``path:line`` and the column).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "bad.txt"
        >>> _ = p.write_bytes(b"fine\\ncaf\\xe9\\n")
        >>> read_text(p)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        experiments.core.errors.DataFileError: .../bad.txt:2: not UTF-8 (byte 0xe9 at column 4); ...
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"expected a data file, got {path} (no such file)")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:
            raise DataFileError(
                f"{path}: expected a complete gzip file, got a stream cut short or corrupt "
                f"({err}); download or copy it again"
            ) from None
    if not raw:
        raise DataFileError(f"{path}: expected text, got an empty file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise DataFileError(
            f"{path}:{line}: not UTF-8 (byte 0x{raw[err.start]:02x} at column {column}); "
            "re-save the file as UTF-8"
        ) from None
