"""Word tokenization inside the TensorFlow graph, so an exported model
splits raw text exactly as training did.

Text is lower-cased, accents are folded (a letter's NFKD decomposition
without its combining marks: "Café" -> "cafe"), every run of characters
that are neither letters nor digits becomes a space, and the result is
split on spaces. Only core TensorFlow ops are used.
"""

from __future__ import annotations

import functools
import unicodedata

import numpy as np
import tensorflow as tf

#: Code points below this are folded by table; the rest pass unchanged
#: (CJK and other scripts without accents to fold).
_FOLDED_RANGE = 0x3000
_DROP = -1


@functools.lru_cache(maxsize=1)
def _folding_table() -> np.ndarray:
    """`table[c]`: the code point `c` folds to, `_DROP` for a combining
    mark, `c` itself when nothing folds."""
    table = np.arange(_FOLDED_RANGE, dtype=np.int32)
    for code in range(0x80, _FOLDED_RANGE):
        char = chr(code)
        if unicodedata.combining(char):
            table[code] = _DROP
            continue
        decomposed = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        if len(base) == 1 and base != char:
            table[code] = ord(base)
    return table


def fold_accents(text):
    """`[batch]` strings with accents folded (see the module docstring)."""
    codes = tf.strings.unicode_decode(text, "UTF-8", errors="replace")
    flat = codes.flat_values
    table = tf.constant(_folding_table())
    folded = tf.where(flat < _FOLDED_RANGE,
                      tf.gather(table, tf.minimum(flat, _FOLDED_RANGE - 1)),
                      flat)
    codes = codes.with_flat_values(folded)
    codes = tf.ragged.boolean_mask(codes, codes >= 0)
    return tf.strings.unicode_encode(codes, "UTF-8")


def words(text):
    """`[batch]` strings to a ragged `[batch, words]` tensor of words."""
    text = tf.strings.lower(tf.convert_to_tensor(text), encoding="utf-8")
    text = fold_accents(text)
    text = tf.strings.regex_replace(text, r"[^\pL\pN]+", " ")
    return tf.strings.split(text)


def padded_words(text, length: int):
    """The first `length` words of each text, padded with `""`:
    `[batch, length]`."""
    return words(text)[:, :length].to_tensor(default_value="",
                                             shape=[None, length])


@tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
def _flat_words(text):
    return words(text).flat_values


def word_list(values: np.ndarray) -> np.ndarray:
    """Every word of an array of strings, in order (for counting)."""
    if len(values) == 0:
        return np.array([], dtype=object)
    flat = _flat_words(tf.constant(values, tf.string)).numpy()
    return np.array([w.decode("utf-8") for w in flat], dtype=object)
