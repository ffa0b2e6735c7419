"""Files that appear whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_path(path, suffix: str = ""):
    """Yields a temporary sibling of `path` to write; renames it into place
    when the block succeeds, removes it when it fails.

    Readers of `path` see either the previous file or the complete new one.

    Args:
        path: the final file.
        suffix: ending the temporary name needs (e.g. `".keras"`, which
            Keras requires).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(path)}.", suffix=suffix)
    os.close(fd)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text(path, text: str) -> None:
    """Writes `text` to `path` atomically (see `atomic_path`)."""
    with atomic_path(path) as temporary:
        with open(temporary, "w") as handle:
            handle.write(text)
