"""Where an experiment's data lives: a given folder, ``$JAXRNN_DATA``, a cache, or a download.

:func:`locate` looks, in order, in

1. ``data_dir`` (the experiment's ``--data_dir``): used as given; missing files are an error;
2. ``$JAXRNN_DATA/<name>``;
3. the cache ``$JAXRNN_CACHE/<name>``, else ``$XDG_CACHE_HOME/jaxrnn/<name>``, else
   ``~/.cache/jaxrnn/<name>``;
4. a download into that cache, of the dataset's zip archive (``Dataset.url``) or of each of
   its files (``Dataset.file_urls``); every downloaded file must match its sha256, else
   nothing is cached and :class:`~experiments.core.errors.DataFileError` names the file.

Local copies (1-3) are not rejected on a checksum mismatch (a user may point at their own
files), but :class:`Located` records each file's sha256 and whether it matched, so the run
directory says exactly which data a model saw. With nothing found and no network,
:class:`DataNotFoundError` lists every place it looked and what to set.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from experiments.core.errors import DataNotFoundError
from experiments.data.dataset import Dataset
from experiments.data.download import fetch, sha256_file


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
        DataFileError: a downloaded file does not match its sha256 (nothing is cached).
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
