"""Pretrained language models as text encoders (the `text` extra).

`mtzoo.features.TextFeature(..., encoder="minilm")` uses these pieces:
`checkpoints` finds and unpacks the checkpoint, `layers` holds the Keras
layers (WordPiece ids, the pretrained transformer with mean pooling) and
`cache` encodes each distinct text once for frozen encoders.
"""

from mtzoo.text.checkpoints import MINILM
from mtzoo.text.checkpoints import Checkpoint
from mtzoo.text.checkpoints import TextEncoderUnavailable
from mtzoo.text.checkpoints import resolve

__all__ = ["MINILM", "Checkpoint", "TextEncoderUnavailable", "resolve"]
