"""experiments.data: --data_dir, $JAXRNN_DATA, cache, verified download, offline message."""

from __future__ import annotations

import hashlib
import zipfile

import pytest

from experiments import data
from experiments.data import DataNotFoundError, Dataset, locate

FILES = {"train.tsv": b"good film\t1\n", "dev.tsv": b"bad film\t0\n"}


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _dataset(url: str | None = None, **overrides) -> Dataset:
    files = {name: _sha(body) for name, body in FILES.items()}
    files.update(overrides)
    return Dataset("tiny", files, url, {name: f"TINY/{name}" for name in FILES})


def _write(folder, files=FILES):
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (folder / name).write_bytes(body)
    return folder


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No $JAXRNN_DATA, an empty private cache."""
    monkeypatch.delenv("JAXRNN_DATA", raising=False)
    monkeypatch.setenv("JAXRNN_CACHE", str(tmp_path / "cache"))
    return tmp_path


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, body in members.items():
            zf.writestr(f"TINY/{name}", body)
    return path.as_uri()


def test_data_dir_is_used_and_checksummed(clean_env):
    folder = _write(clean_env / "mine")
    found = locate(_dataset(), folder)
    assert (found.path, found.source, found.verified) == (folder, "--data_dir", True)
    assert found.sha256["dev.tsv"] == _sha(FILES["dev.tsv"])


def test_data_dir_with_other_bytes_is_used_but_not_verified(clean_env):
    folder = _write(clean_env / "mine", {**FILES, "dev.tsv": b"other\t1\n"})
    found = locate(_dataset(), folder)
    assert found.source == "--data_dir" and not found.verified


def test_data_dir_missing_file_is_an_error_naming_it(clean_env):
    folder = _write(clean_env / "mine", {"train.tsv": FILES["train.tsv"]})
    with pytest.raises(DataNotFoundError, match=r"--data_dir=.*missing dev\.tsv"):
        locate(_dataset(), folder)


def test_env_then_cache(clean_env, monkeypatch):
    root = clean_env / "shared"
    _write(root / "tiny")
    monkeypatch.setenv("JAXRNN_DATA", str(root))
    assert locate(_dataset()).source == "$JAXRNN_DATA"
    monkeypatch.setenv("JAXRNN_DATA", str(clean_env / "empty"))
    _write(clean_env / "cache" / "tiny")
    found = locate(_dataset())
    assert found.source == "cache" and found.path == clean_env / "cache" / "tiny"


def test_download_extracts_verifies_and_caches(clean_env):
    url = _zip(clean_env / "tiny.zip", FILES)
    found = locate(_dataset(url))
    assert (found.source, found.verified) == ("download", True)
    assert (clean_env / "cache" / "tiny" / "train.tsv").read_bytes() == FILES["train.tsv"]
    assert locate(_dataset(url)).source == "cache"


def test_download_with_wrong_checksum_caches_nothing(clean_env):
    url = _zip(clean_env / "tiny.zip", FILES)
    with pytest.raises(ValueError, match=r"dev\.tsv from .* has sha256 .*expected 0{64}"):
        locate(_dataset(url, **{"dev.tsv": "0" * 64}))
    assert not (clean_env / "cache" / "tiny" / "train.tsv").exists()


def test_offline_message_lists_every_place_and_what_to_set(clean_env, monkeypatch):
    def offline(*args, **kwargs):
        raise data.urllib.error.URLError("no network")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    monkeypatch.setenv("JAXRNN_DATA", str(clean_env / "empty"))
    with pytest.raises(DataNotFoundError) as err:
        locate(_dataset("https://example.invalid/tiny.zip"))
    msg = str(err.value)
    for part in (
        "--data_dir: not given",
        f"$JAXRNN_DATA/tiny = {clean_env / 'empty' / 'tiny'}: missing train.tsv, dev.tsv",
        f"cache {clean_env / 'cache' / 'tiny'}: missing train.tsv, dev.tsv",
        "download https://example.invalid/tiny.zip: failed",
        "no network",
        "set JAXRNN_DATA",
        "--data_dir=DIR",
    ):
        assert part in msg


def test_no_download_when_disabled(clean_env):
    with pytest.raises(DataNotFoundError, match=r"\$JAXRNN_DATA: not set(.|\n)*disabled"):
        locate(_dataset("https://example.invalid/tiny.zip"), download=False)


def test_sst2_checksums_are_the_glue_files():
    assert data.SST2.url == "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"
    assert data.SST2.files["train.tsv"].startswith("48eac263")
    assert data.SST2.files["dev.tsv"].startswith("54a9c12c")
