"""Text features: in-graph words, a trainable bag of words, export."""

import keras
import numpy as np
import pandas as pd
import pytest

import mtzoo
from mtzoo import data
from mtzoo import features as F
from mtzoo import models
from mtzoo import tasks as T
from mtzoo.features import tokenize

_GOOD = ["great", "love", "perfect", "excellent", "solid", "sweet"]
_BAD = ["broke", "cheap", "returned", "awful", "noisy", "junk"]
_FILLER = ["the", "strings", "pedal", "cable", "tuner", "it", "was", "and",
           "my", "guitar", "sound", "for", "price"]


def _reviews(rows=3_000, seed=0):
    """Reviews whose words carry the rating; user and item ids carry
    little."""
    rng = np.random.default_rng(seed)
    rating = rng.integers(1, 6, rows)
    texts = []
    for r in rating:
        signal = _GOOD if r >= 4 else _BAD
        words = list(rng.choice(_FILLER, 8)) + list(rng.choice(signal, 2))
        if r == 3:
            words = list(rng.choice(_FILLER, 10))
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + "!")
    return pd.DataFrame({
        "user": rng.integers(0, 50, rows).astype(str),
        "item": rng.integers(0, 80, rows).astype(str),
        "Review Text": texts,
        "rating": rating.astype(np.float32),
        "liked": (rating >= 4).astype(np.float32),
    })


def test_words_fold_case_accents_and_punctuation():
    got = tokenize.word_list(np.array(
        ["Café au LAIT, naïve résumé!", "12-string Ströme…", ""], object))
    assert got.tolist() == ["cafe", "au", "lait", "naive", "resume", "12",
                            "string", "strome"]
    padded = tokenize.padded_words(["Hello, World!", "a b c d e"], 3)
    assert padded.numpy().tolist() == [[b"hello", b"world", b""],
                                       [b"a", b"b", b"c"]]


def test_bag_adapts_a_word_vocabulary_and_pads_to_max_length():
    frame = pd.DataFrame({"Review Text": ["Great  great GREAT pedal",
                                          "pedal, broke", None]})
    [spec] = F.adapt([F.TextFeature("review", column="Review Text",
                                    max_length=4, min_frequency=1)], frame)
    assert spec.vocabulary == ("great", "pedal", "broke")
    encoded = data.encoded_arrays(frame, [spec])["review"]
    assert encoded.shape == (3, 4)
    # Padding is -1; words map to their vocabulary rows after the
    # out-of-vocabulary row 0.
    assert encoded[0].tolist() == [1, 1, 1, 2]
    assert encoded[1].tolist() == [2, 3, -1, -1]
    assert encoded[2].tolist() == [-1, -1, -1, -1]
    again = F.deserialize(F.serialize(spec))
    assert again == spec


def test_text_spec_errors_say_what_to_write():
    with pytest.raises(ValueError, match="applies to pretrained"):
        F.TextFeature("review", trainable=True)
    with pytest.raises(ValueError, match="`trainable`"):
        F.TextFeature("review", encoder="minilm", trainable=-1)
    with pytest.raises(TypeError, match="text feature"):
        spec = F.adapt([F.TextFeature("review")],
                       pd.DataFrame({"review": ["a a", "b b"]}))[0]
        spec.lookup_values(np.array([1.0, 2.0]))


@pytest.fixture(scope="module")
def reviews():
    frame = _reviews()
    return frame.iloc[:2_400], frame.iloc[2_400:]


def _fit_mmoe(train, test, features, tasks, epochs=4):
    keras.utils.set_random_seed(0)
    features = F.adapt(features, train)
    model = models.mmoe(features, tasks)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(data.from_dataframe(train, features, tasks, batch_size=128,
                                  shuffle=True, seed=0), epochs=epochs,
              verbose=0)
    return model, model.evaluate(
        data.from_dataframe(test, features, tasks, batch_size=1024),
        return_dict=True, verbose=0)


def test_bag_of_words_beats_the_same_model_without_text(reviews, tmp_path):
    train, test = reviews
    tasks = [T.regression("stars", label="rating"), T.binary("liked")]
    ids = [F.CategoricalFeature("user"), F.CategoricalFeature("item")]
    _, without = _fit_mmoe(train, test, ids, tasks)
    model, with_text = _fit_mmoe(
        train, test, ids + [F.TextFeature("review", column="Review Text")],
        tasks)
    assert with_text["liked_auc"] > without["liked_auc"] + 0.2, (
        with_text, without)
    assert with_text["stars_rmse"] < without["stars_rmse"] - 0.3
    # The exported model takes the raw review strings.
    sample = test.iloc[:8]
    version = mtzoo.export.export_saved_model(
        model, tmp_path, model_name="reviews",
        warmup_inputs=data.feature_arrays(sample, model.features))
    report = mtzoo.export.verify(version)
    assert report["ok"], report
    assert report["inputs"]["review"][0] == "string"
