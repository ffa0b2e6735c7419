"""Where dataset files come from: a data directory, a cache, a download.

A loader looks for its files in, in order:

1. the `data_dir` argument (the `--data-dir` flag of recipes), either the
   folder holding the files or its parent holding `<dataset>/`;
2. `$MTZOO_DATA_DIR/<dataset>/`;
3. the cache, `~/.cache/mtzoo/<dataset>/`.

If they are absent and the dataset has a public download, it is fetched
into the cache and its checksum verified; every file appears whole or not at
all. Offline, or for datasets without a public download, the error says
which files to put where.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import pathlib
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile

ENV_VAR = "MTZOO_DATA_DIR"


class DataUnavailableError(FileNotFoundError):
    """Raised when a dataset's files are neither found nor downloadable."""


class ChecksumError(OSError):
    """Raised when a downloaded file does not match its checksum."""


@dataclasses.dataclass(frozen=True)
class Download:
    """A public file to fetch.

    Args:
        url: where to fetch it.
        sha256: checksum of the fetched file. For `.gz` files, the checksum
            of the decompressed content when `content_sha256` is True (it
            survives recompression).
        members: for zip archives, `{archive member: file name}` to keep.
        content_sha256: see `sha256`.
    """

    url: str
    sha256: str
    members: dict | None = None
    content_sha256: bool = False

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


def cache_root() -> pathlib.Path:
    return pathlib.Path(os.path.expanduser("~")) / ".cache" / "mtzoo"


def candidate_dirs(dataset: str, data_dir=None) -> list[pathlib.Path]:
    """Folders searched for a dataset's files, in order."""
    dirs = []
    if data_dir is not None:
        data_dir = pathlib.Path(data_dir)
        dirs += [data_dir, data_dir / dataset]
    if os.environ.get(ENV_VAR):
        dirs.append(pathlib.Path(os.environ[ENV_VAR]) / dataset)
    dirs.append(cache_root() / dataset)
    return dirs


def find(dataset: str, alternatives: list[list[str]], data_dir=None):
    """The first folder holding one complete set of `alternatives`.

    Returns `(folder, names)` or None.
    """
    for folder in candidate_dirs(dataset, data_dir):
        for names in alternatives:
            if all((folder / name).is_file() for name in names):
                return folder, names
    return None


def locate(
    dataset: str,
    alternatives: list[list[str]],
    *,
    data_dir=None,
    downloads: list[Download] = (),
    instructions: str = "",
    timeout: float = 30.0,
) -> tuple[pathlib.Path, list[str]]:
    """Finds a dataset's files, downloading them if possible.

    Args:
        dataset: the dataset's folder name (e.g. `"census-income"`).
        alternatives: sets of file names any of which is enough (e.g. the
            full files, or the sample files).
        data_dir: a folder given by the user.
        downloads: what to fetch when nothing is found; the first entry of
            `alternatives` must be what they produce.
        instructions: how to get the files by hand.
        timeout: seconds to wait for the server.

    Returns:
        `(folder, names)`: the folder and the file names found there.
    """
    found = find(dataset, alternatives, data_dir)
    if found:
        return found
    target = candidate_dirs(dataset)[-1]
    if downloads:
        try:
            for download in downloads:
                fetch(download, target, timeout=timeout)
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            if isinstance(error, ChecksumError):
                raise
            raise _unavailable(dataset, alternatives, data_dir, instructions,
                               downloads, reason=str(error)) from None
        found = find(dataset, alternatives[:1], target.parent)
        if found:
            return found
    raise _unavailable(dataset, alternatives, data_dir, instructions,
                       downloads)


def _unavailable(dataset, alternatives, data_dir, instructions, downloads,
                 reason=None) -> DataUnavailableError:
    searched = "\n".join(f"  - {d}" for d in candidate_dirs(dataset,
                                                           data_dir))
    wanted = " or ".join(", ".join(names) for names in alternatives)
    parts = [f"Dataset '{dataset}' was not found. Looked for {wanted} in:",
             searched]
    if downloads:
        urls = ", ".join(d.url for d in downloads)
        parts.append(f"Downloading {urls} failed"
                     + (f" ({reason})" if reason else "") + ".")
    if instructions:
        parts.append(instructions)
    parts.append(
        f"Put the files in one of those folders, pass `data_dir` "
        f"(`--data-dir`), or set {ENV_VAR} to a folder holding "
        f"'{dataset}/'.")
    return DataUnavailableError("\n".join(parts))


def sha256_of(path, decompress: bool = False) -> str:
    digest = hashlib.sha256()
    opener = gzip.open if decompress else open
    with opener(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(download: Download, folder: pathlib.Path, timeout: float = 30.0):
    """Fetches one download into `folder`, verified and atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        fetched = pathlib.Path(tmp) / download.file_name
        with urllib.request.urlopen(download.url, timeout=timeout) as r, \
                open(fetched, "wb") as out:
            shutil.copyfileobj(r, out)
        actual = sha256_of(fetched, decompress=download.content_sha256)
        if actual != download.sha256:
            raise ChecksumError(
                f"Checksum mismatch for {download.url}: expected sha256 "
                f"{download.sha256}, got {actual}. Nothing was kept; the "
                f"download may be corrupt or the file may have changed.")
        if download.members:
            with zipfile.ZipFile(fetched) as archive:
                for member, name in download.members.items():
                    extracted = pathlib.Path(tmp) / name
                    with archive.open(member) as src, \
                            open(extracted, "wb") as dst:
                        shutil.copyfileobj(src, dst)
            for name in download.members.values():
                os.replace(pathlib.Path(tmp) / name, folder / name)
        else:
            os.replace(fetched, folder / download.file_name)
