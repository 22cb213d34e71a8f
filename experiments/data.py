"""Where an experiment's data lives: a given folder, ``$JAXRNN_DATA``, a cache, or a download.

:func:`locate` looks, in order, in

1. ``data_dir`` (the experiment's ``--data_dir``): used as given; missing files are an error;
2. ``$JAXRNN_DATA/<name>``;
3. the cache ``$JAXRNN_CACHE/<name>``, else ``$XDG_CACHE_HOME/jaxrnn/<name>``, else
   ``~/.cache/jaxrnn/<name>``;
4. a download into that cache, of the dataset's zip archive (``Dataset.url``) or of each of
   its files (``Dataset.file_urls``); every downloaded file must match its sha256, else
   nothing is cached and :class:`ValueError` names the file.

Local copies (1-3) are not rejected on a checksum mismatch (a user may point at their own
files), but :class:`Located` records each file's sha256 and whether it matched, so the run
directory says exactly which data a model saw. With nothing found and no network,
:class:`DataNotFoundError` lists every place it looked and what to set.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import zlib
from pathlib import Path

from experiments.download import fetch, sha256_file


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A dataset made of a few files, downloadable as one zip archive or file by file.

    Attributes:
        name: folder name under ``$JAXRNN_DATA`` and the cache, e.g. ``"sst2"``.
        files: file name -> expected sha256 of its bytes.
        url: a zip archive holding the files (None: no archive).
        members: file name -> its path inside the archive.
        file_urls: file name -> URL of that file's bytes, one for each of ``files`` (empty:
            no per-file download). Give ``url`` or ``file_urls``, not both.

    Raises:
        ValueError: both ``url`` and ``file_urls`` are given, or ``file_urls`` does not name
            exactly the files of ``files``.

    Example:
        >>> ds = Dataset("pair", {"a.txt": "0" * 64, "b.txt": "0" * 64},
        ...              file_urls={"a.txt": "https://x.org/d/a.txt", "b.txt": "https://x.org/d/b.txt"})
        >>> ds.download_from
        'https://x.org/d/{a.txt,b.txt}'
    """

    name: str
    files: dict[str, str]
    url: str | None = None
    members: dict[str, str] = dataclasses.field(default_factory=dict)
    file_urls: dict[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.url is not None and self.file_urls:
            raise ValueError(
                f"{self.name}: expected a zip url or file_urls, got both; give one of them"
            )
        if self.file_urls and set(self.file_urls) != set(self.files):
            raise ValueError(
                f"{self.name}: expected file_urls to have one URL for each of "
                f"{sorted(self.files)}, got URLs for {sorted(self.file_urls)}"
            )

    @property
    def download_from(self) -> str | None:
        """Where a download comes from, as one string for messages: the zip's URL, the one
        file's URL, or the files' common URL prefix with the rest in braces (as curl reads
        it); None when the dataset has no download."""
        if self.url is not None:
            return self.url
        urls = list(self.file_urls.values())
        if len(urls) <= 1:
            return urls[0] if urls else None
        prefix = os.path.commonprefix(urls)
        prefix = prefix[: prefix.rfind("/") + 1]
        return prefix + "{" + ",".join(u[len(prefix) :] for u in urls) + "}"


#: GLUE SST-2 (binary). Checksums are of the GLUE train/dev files (see shared PROVENANCE.md).
SST2 = Dataset(
    name="sst2",
    files={
        "train.tsv": "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
        "dev.tsv": "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0",
    },
    url="https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
    members={"train.tsv": "SST-2/train.tsv", "dev.tsv": "SST-2/dev.tsv"},
)


class DataNotFoundError(FileNotFoundError):
    """No copy of a dataset was found and none could be downloaded; the message says where
    it looked and what to set."""


@dataclasses.dataclass(frozen=True)
class Located:
    """A dataset found on disk.

    Attributes:
        path: the folder holding the files.
        source: how it was found (``--data_dir``, ``$JAXRNN_DATA``, ``cache``, ``download``).
        sha256: file name -> sha256 of the bytes found.
        verified: True when every file matches the dataset's published checksum.
    """

    path: Path
    source: str
    sha256: dict[str, str]
    verified: bool

    def record(self) -> dict:
        """JSON-ready description, for the run directory."""
        return {
            "path": str(self.path),
            "source": self.source,
            "sha256": self.sha256,
            "verified": self.verified,
        }


class DataFileError(ValueError):
    """A data file that cannot be read as text; the message names the file (and line)."""


def read_text(path: str | Path) -> str:
    """The UTF-8 text of a data file, gunzipped when its name ends in ``.gz``.

    Raises:
        FileNotFoundError: no such file.
        DataFileError: the file is empty, its gzip stream is cut short or corrupt, or its
            bytes are not UTF-8 (the message gives ``path:line`` and the column).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "bad.txt"
        >>> _ = p.write_bytes(b"fine\\ncaf\\xe9\\n")
        >>> read_text(p)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        experiments.data.DataFileError: .../bad.txt:2: not UTF-8 (byte 0xe9 at column 4); ...
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"expected a data file, got {path} (no such file)")
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


def cache_root() -> Path:
    """``$JAXRNN_CACHE``, else ``$XDG_CACHE_HOME/jaxrnn``, else ``~/.cache/jaxrnn``."""
    if os.environ.get("JAXRNN_CACHE"):
        return Path(os.environ["JAXRNN_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "jaxrnn"


def _missing(folder: Path, ds: Dataset) -> list[str]:
    return [f for f in ds.files if not (folder / f).is_file()]


def _found(folder: Path, ds: Dataset, source: str) -> Located:
    sums = {f: sha256_file(folder / f) for f in ds.files}
    return Located(folder, source, sums, all(sums[f] == ds.files[f] for f in ds.files))


def locate(ds: Dataset, data_dir: str | Path | None = None, *, download: bool = True) -> Located:
    """Find ``ds`` on disk, downloading it into the cache if needed.

    Args:
        ds: the dataset.
        data_dir: a folder holding ``ds.files``; when given it is the only place looked.
        download: allow the download step.

    Returns:
        :class:`Located` with the folder and the checksums of its files.

    Raises:
        DataNotFoundError: ``data_dir`` lacks a file, or nothing was found and the download
            was impossible or failed; the message lists each place and what to set.
        ValueError: a downloaded file does not match its sha256 (nothing is cached).
    """
    files = ", ".join(ds.files)
    if data_dir is not None and str(data_dir) != "":
        folder = Path(data_dir).expanduser()
        missing = _missing(folder, ds)
        if missing:
            raise DataNotFoundError(
                f"{ds.name}: --data_dir={folder} must contain {files}; missing "
                f"{', '.join(missing)}. Point --data_dir at the folder holding them, or drop "
                f"--data_dir to use $JAXRNN_DATA/{ds.name}, the cache, or a download."
            )
        return _found(folder, ds, "--data_dir")
    looked = ["--data_dir: not given"]
    env = os.environ.get("JAXRNN_DATA")
    if env:
        folder = Path(env).expanduser() / ds.name
        missing = _missing(folder, ds)
        if not missing:
            return _found(folder, ds, "$JAXRNN_DATA")
        looked.append(f"$JAXRNN_DATA/{ds.name} = {folder}: missing {', '.join(missing)}")
    else:
        looked.append("$JAXRNN_DATA: not set")
    cache = cache_root() / ds.name
    missing = _missing(cache, ds)
    if not missing:
        return _found(cache, ds, "cache")
    looked.append(f"cache {cache}: missing {', '.join(missing)}")
    src = ds.download_from
    if src is None:
        looked.append("download: this dataset has no download URL")
        hint = ""
    elif not download:
        looked.append(f"download {src}: disabled")
        hint = f" (they can be downloaded from {src})"
    else:
        try:
            fetch(ds, cache)
            return _found(cache, ds, "download")
        except OSError as err:  # URLError, timeouts, disk errors
            looked.append(f"download {src}: failed ({err})")
        hint = f"; or connect to the network so {src} can be downloaded into the cache"
    where = "\n  ".join(looked)
    raise DataNotFoundError(
        f"{ds.name}: data not found. Looked in:\n  {where}\n"
        f"Fix one of: pass --data_dir=DIR (a folder with {files}); set JAXRNN_DATA to a "
        f"folder that contains {ds.name}/{{{files}}}; put the files in {cache}{hint}."
    )
