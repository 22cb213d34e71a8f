"""What a dataset is: a few files with their sha256, downloadable as one zip or file by file."""

from __future__ import annotations

import dataclasses
import os


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
