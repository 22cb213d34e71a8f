"""Downloading a dataset into the cache, checksummed (used by
:func:`experiments.data.locate.locate`).

Files go to a temporary folder first and appear in the cache only after every sha256
matched, so an interrupted or corrupted download never looks like a cached copy.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from experiments.core.errors import DataFileError
from experiments.data.dataset import Dataset

DOWNLOAD_TIMEOUT_S = 60


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, path: Path) -> None:
    """Copy the bytes at ``url`` into ``path``; OSError when that fails."""
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
            with open(path, "wb") as out:
                shutil.copyfileobj(resp, out)
    except http.client.HTTPException as err:  # e.g. IncompleteRead, which is no OSError
        raise OSError(f"broken HTTP response ({err!r})") from err


def _extract(ds: Dataset, archive: Path, folder: Path) -> None:
    """Write each of ``ds.members`` from the zip ``archive`` into ``folder``."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as err:
        raise DataFileError(f"{ds.name}: {ds.url} is not a zip archive ({err})") from None
    with zf:
        names = set(zf.namelist())
        for fname, member in ds.members.items():
            if member not in names:
                raise DataFileError(
                    f"{ds.name}: expected {member} in {ds.url}; the archive holds "
                    f"{sorted(names)[:10]}"
                )
            (folder / fname).write_bytes(zf.read(member))


def fetch(ds: Dataset, dest: Path) -> None:
    """Download ``ds`` into ``dest`` and check each file's sha256.

    A zip dataset (``ds.url``) is downloaded and its ``ds.members`` extracted; a per-file
    dataset (``ds.file_urls``) has each file downloaded as is. Either way the files go to a
    temporary folder first and appear in ``dest`` only after every checksum matched, so an
    interrupted or corrupted download never looks like a cached copy.

    Raises:
        OSError: a download failed (for a per-file dataset the message names the file's URL).
        ValueError: ``ds`` has no download.
        DataFileError: the archive is not a zip or lacks a member, or a file's sha256 does
            not match (nothing is cached).
    """
    if ds.download_from is None:
        raise ValueError(f"{ds.name}: expected a download URL (url or file_urls), got none")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp_name:
        tmp = Path(tmp_name)
        if ds.file_urls:
            for fname, url in ds.file_urls.items():
                try:
                    _download(url, tmp / fname)
                except OSError as err:
                    raise OSError(f"{fname} from {url}: {err}") from err
        else:
            _download(ds.url, tmp / "archive.zip")
            _extract(ds, tmp / "archive.zip", tmp)
        for fname, want in ds.files.items():
            got = sha256_file(tmp / fname)
            if got != want:
                raise DataFileError(
                    f"{ds.name}: {fname} from {ds.file_urls.get(fname, ds.url)} has sha256 "
                    f"{got}, expected {want}; the download is corrupt or the upstream file "
                    "changed. Nothing was cached."
                )
        for fname in ds.files:
            os.replace(tmp / fname, dest / fname)
