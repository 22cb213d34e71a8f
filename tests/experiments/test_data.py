"""experiments.data.locate: --data_dir, $JAXRNN_DATA, cache, verified download, offline message."""

from __future__ import annotations

import hashlib
import http.client
import zipfile

import pytest

from experiments.data import chars, download
from experiments.data.dataset import Dataset
from experiments.data.locate import DataNotFoundError, locate
from experiments.tasks import sentiment
from experiments.tasks import translation as tr

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
        raise download.urllib.error.URLError("no network")

    monkeypatch.setattr(download.urllib.request, "urlopen", offline)
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
    assert sentiment.SST2.url == "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"
    assert sentiment.SST2.files["train.tsv"].startswith("48eac263")
    assert sentiment.SST2.files["dev.tsv"].startswith("54a9c12c")


RAW = "https://example.invalid/raw/"
RAW_ALL = RAW + "{train.tsv,dev.tsv}"  # Dataset.download_from of _raw_dataset()


def _raw_dataset(**overrides) -> Dataset:
    """FILES downloadable one by one from RAW + name (no zip)."""
    files = {name: _sha(body) for name, body in FILES.items()}
    files.update(overrides)
    return Dataset("tiny", files, file_urls={name: RAW + name for name in FILES})


@pytest.fixture
def served(clean_env, monkeypatch):
    """``urlopen`` serves FILES from local copies at RAW + name; returns the URLs asked for."""
    upstream = _write(clean_env / "upstream")
    asked = []

    def urlopen(url, timeout):
        assert timeout == download.DOWNLOAD_TIMEOUT_S
        asked.append(url)
        return open(upstream / url.removeprefix(RAW), "rb")

    monkeypatch.setattr(download.urllib.request, "urlopen", urlopen)
    return asked


def test_per_file_download_verifies_and_caches(served, clean_env):
    found = locate(_raw_dataset())
    assert (found.source, found.verified) == ("download", True)
    assert served == [RAW + "train.tsv", RAW + "dev.tsv"]
    for name, body in FILES.items():
        assert (clean_env / "cache" / "tiny" / name).read_bytes() == body
    again = locate(_raw_dataset())
    assert (again.source, again.path) == ("cache", clean_env / "cache" / "tiny")
    assert len(served) == 2  # the second locate downloaded nothing


def test_per_file_download_with_wrong_checksum_caches_nothing(served, clean_env):
    cache = _write(clean_env / "cache" / "tiny", {"train.tsv": FILES["train.tsv"]})
    with pytest.raises(ValueError, match=rf"tiny: dev\.tsv from {RAW}dev\.tsv has sha256 {_sha(FILES['dev.tsv'])}, expected 0{{64}}.*Nothing was cached"):  # fmt: skip
        locate(_raw_dataset(**{"dev.tsv": "0" * 64}))
    assert sorted(p.name for p in cache.iterdir()) == ["train.tsv"]  # the cached file is kept
    assert cache.joinpath("train.tsv").read_bytes() == FILES["train.tsv"]


@pytest.mark.parametrize(
    "failure",
    [
        download.urllib.error.URLError("no network"),
        TimeoutError("timed out"),
        http.client.IncompleteRead(b"", 5),
    ],
)
def test_per_file_download_failing_gives_the_clear_error(clean_env, monkeypatch, failure):
    def offline(url, timeout):
        raise failure

    monkeypatch.setattr(download.urllib.request, "urlopen", offline)
    with pytest.raises(DataNotFoundError) as err:
        locate(_raw_dataset())
    msg = str(err.value)
    for part in (
        f"cache {clean_env / 'cache' / 'tiny'}: missing train.tsv, dev.tsv",
        f"download {RAW_ALL}: failed (train.tsv from {RAW}train.tsv: ",
        "--data_dir=DIR",
        f"connect to the network so {RAW_ALL} can be downloaded into the cache.",
    ):
        assert part in msg
    assert not list((clean_env / "cache" / "tiny").iterdir())


def test_messages_when_download_is_disabled_or_impossible(clean_env):
    with pytest.raises(DataNotFoundError) as err:
        locate(_raw_dataset(), download=False)
    assert f"download {RAW_ALL}: disabled" in str(err.value)
    assert f"(they can be downloaded from {RAW_ALL})." in str(err.value)
    assert "connect to the network" not in str(err.value)
    with pytest.raises(DataNotFoundError) as err:
        locate(_dataset(None))
    assert "download: this dataset has no download URL" in str(err.value)
    assert "downloaded" not in str(err.value)


def test_dataset_rejects_a_zip_and_file_urls_or_a_file_without_url():
    with pytest.raises(ValueError, match="expected a zip url or file_urls, got both"):
        Dataset("x", {"a": "0" * 64}, "https://example.invalid/x.zip", file_urls={"a": RAW})
    with pytest.raises(ValueError, match=r"one URL for each of \['a', 'b'\], got URLs for \['a'\]"):
        Dataset("x", {"a": "0" * 64, "b": "0" * 64}, file_urls={"a": RAW + "a"})


def test_tiny_shakespeare_and_multi30k_download_each_file_from_its_pinned_upstream():
    char_rnn = "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt"
    assert chars.TINY_SHAKESPEARE.url is None
    assert chars.TINY_SHAKESPEARE.file_urls == {"input.txt": char_rnn}
    raw = "https://raw.githubusercontent.com/multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw/"
    names = [f"{split}.{lang}.gz" for split in tr.SPLITS for lang in ("en", "de")]
    assert sorted(tr.MULTI30K.files) == sorted(names)
    assert tr.MULTI30K.url is None
    assert tr.MULTI30K.file_urls == {name: raw + name for name in names}
