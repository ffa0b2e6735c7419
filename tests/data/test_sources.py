import gzip
import hashlib
import zipfile

import pytest

from mtzoo.data import sources


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "cache_root", lambda: tmp_path / "cache")
    monkeypatch.delenv(sources.ENV_VAR, raising=False)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_files_in_data_dir_or_its_dataset_subfolder_are_found(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "a.csv").write_text("x")
    folder, names = sources.locate("ds", [["a.csv"]], data_dir=tmp_path)
    assert folder == tmp_path / "ds" and names == ["a.csv"]
    folder, _ = sources.locate("ds", [["a.csv"]], data_dir=tmp_path / "ds")
    assert folder == tmp_path / "ds"


def test_environment_variable_is_searched(tmp_path, monkeypatch):
    (tmp_path / "env" / "ds").mkdir(parents=True)
    (tmp_path / "env" / "ds" / "a.csv").write_text("x")
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path / "env"))
    folder, _ = sources.locate("ds", [["a.csv"]])
    assert folder == tmp_path / "env" / "ds"


def test_download_is_verified_and_lands_in_the_cache(tmp_path):
    content = b"1,2,3\n"
    remote = tmp_path / "remote" / "data.csv.gz"
    remote.parent.mkdir()
    remote.write_bytes(gzip.compress(content))
    download = sources.Download(remote.as_uri(), _sha(content),
                                content_sha256=True)
    folder, names = sources.locate("ds", [["data.csv.gz"]],
                                   downloads=[download])
    assert folder == tmp_path / "cache" / "ds"
    assert gzip.decompress((folder / "data.csv.gz").read_bytes()) == content


def test_zip_members_are_extracted(tmp_path):
    archive = tmp_path / "remote.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("inner/u.data", "1\t2\n")
    download = sources.Download(archive.as_uri(),
                                _sha(archive.read_bytes()),
                                members={"inner/u.data": "u.data"})
    folder, _ = sources.locate("ml", [["u.data"]], downloads=[download])
    assert (folder / "u.data").read_text() == "1\t2\n"


def test_checksum_mismatch_keeps_nothing(tmp_path):
    remote = tmp_path / "data.csv"
    remote.write_bytes(b"tampered")
    download = sources.Download(remote.as_uri(), _sha(b"original"))
    with pytest.raises(sources.ChecksumError, match="Checksum mismatch"):
        sources.locate("ds", [["data.csv"]], downloads=[download])
    cache = tmp_path / "cache" / "ds"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_offline_error_says_which_files_go_where(tmp_path):
    download = sources.Download("http://127.0.0.1:9/none.gz", "0" * 64)
    with pytest.raises(sources.DataUnavailableError) as error:
        sources.locate("census-income", [["a.gz", "b.gz"]],
                       data_dir=tmp_path / "mine", downloads=[download],
                       instructions="Get them from UCI.", timeout=2)
    message = str(error.value)
    assert "a.gz, b.gz" in message
    assert str(tmp_path / "mine") in message
    assert "Get them from UCI." in message
    assert sources.ENV_VAR in message


def test_dataset_without_download_explains_how_to_get_it(tmp_path):
    import mtzoo

    with pytest.raises(mtzoo.data.DataUnavailableError,
                       match="(?s)Tianchi.*ali_ccp_train.csv"):
        mtzoo.data.ali_ccp(tmp_path)
