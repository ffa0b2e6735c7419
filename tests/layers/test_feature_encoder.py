import numpy as np
import pytest
import tensorflow as tf

from mtzoo import features as F
from mtzoo.layers import FeatureEncoder
from mtzoo.layers import FeaturePreprocessor
from mtzoo.testing import saved_model_outputs


class _RawEncoder:
    """Both stages of a feature: preprocessing, then the model stage."""

    def __init__(self, specs):
        self.preprocessor = FeaturePreprocessor(specs)
        self.encoder = FeatureEncoder(specs)

    def __call__(self, raw):
        return self.encoder(self.preprocessor(raw))

    @property
    def trainable_weights(self):
        return self.encoder.trainable_weights


def _embedding(raw_encoder, table):
    return np.asarray(raw_encoder.encoder.embedding_table(table))


def test_string_lookup_uses_its_row_and_oov_uses_bucket_zero():
    spec = F.CategoricalFeature("city", dtype="string", embedding_dim=3,
                                vocabulary=["paris", "rome"])
    encoder = _RawEncoder([spec])
    out = np.asarray(encoder({"city": tf.constant(["rome", "oslo", ""])}))
    table = _embedding(encoder, "city")
    assert table.shape == (3, 3)  # 1 OOV bucket + 2 values
    np.testing.assert_allclose(out[0], table[2])
    np.testing.assert_allclose(out[1], table[0])
    np.testing.assert_allclose(out[2], table[0])


def test_integer_lookup_and_missing_id():
    spec = F.CategoricalFeature("item", dtype="int64", embedding_dim=2,
                                vocabulary=[10, 20])
    encoder = _RawEncoder([spec])
    out = np.asarray(encoder({"item": tf.constant([20, -1, 99],
                                                  dtype=tf.int64)}))
    table = _embedding(encoder, "item")
    np.testing.assert_allclose(out, table[[2, 0, 0]])


def test_hashing_is_stable_and_in_range():
    spec = F.CategoricalFeature("query", dtype="string", hash_bins=16,
                                embedding_dim=2)
    encoder = _RawEncoder([spec])
    ids = np.asarray(encoder.preprocessor(
        {"query": tf.constant(["a", "b", "a"])})["query"])
    assert ids[0] == ids[2] and 0 <= ids.min() and ids.max() < 16
    assert _embedding(encoder, "query").shape == (16, 2)


def test_numeric_normalization_log_and_missing_indicator():
    spec = F.NumericFeature("price", log_transform=True, mean=1.0,
                            variance=4.0, missing_indicator=True)
    out = np.asarray(_RawEncoder([spec])(
        {"price": tf.constant([np.e - 1, np.nan, -(np.e - 1), np.inf])}))
    np.testing.assert_allclose(out[:, 0], [0.0, 0.0, -1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[:, 1], [0, 1, 0, 1])


@pytest.mark.parametrize("pooling", ["mean", "sum", "max"])
def test_multi_valued_pooling_ignores_padding(pooling):
    spec = F.MultiCategoricalFeature(
        "genres", dtype="string", vocabulary=["a", "b"], embedding_dim=2,
        max_length=3, pooling=pooling)
    encoder = _RawEncoder([spec])
    table = _embedding(encoder, "genres")
    out = np.asarray(encoder({"genres": tf.constant(
        [["a", "b", ""], ["b", "", ""], ["", "", ""]])}))
    a, b = table[1], table[2]
    expected = {"mean": [(a + b) / 2, b], "sum": [a + b, b],
                "max": [np.maximum(a, b), b]}[pooling]
    np.testing.assert_allclose(out[:2], expected, rtol=1e-6)
    np.testing.assert_allclose(out[2], [0, 0])  # nothing to pool


def test_multi_valued_input_longer_than_max_length_is_truncated():
    spec = F.MultiCategoricalFeature(
        "ids", dtype="int64", vocabulary=[1, 2, 3], embedding_dim=2,
        max_length=2, pooling="sum")
    encoder = _RawEncoder([spec])
    out = encoder({"ids": tf.constant([[1, 2, 3]], dtype=tf.int64)})
    table = _embedding(encoder, "ids")
    np.testing.assert_allclose(out[0], table[1] + table[2], rtol=1e-6)


def test_shared_table_is_one_variable():
    specs = [
        F.CategoricalFeature("item", dtype="int64", vocabulary=[5, 6],
                             embedding_table="items", embedding_dim=3),
        F.MultiCategoricalFeature("history", dtype="int64", vocabulary=[5, 6],
                                  embedding_table="items", embedding_dim=3,
                                  max_length=2),
    ]
    encoder = _RawEncoder(specs)
    out = np.asarray(encoder({
        "item": tf.constant([6], dtype=tf.int64),
        "history": tf.constant([[6, -1]], dtype=tf.int64)}))
    assert len(encoder.trainable_weights) == 1
    np.testing.assert_allclose(out[0, :3], out[0, 3:])


def test_equal_sized_tables_start_different():
    specs = [F.CategoricalFeature(n, dtype="string", vocabulary=["x", "y"])
             for n in ("a", "b")]
    encoder = _RawEncoder(specs)
    assert not np.allclose(_embedding(encoder, "a"), _embedding(encoder, "b"))


def test_vector_projection_and_non_finite_values():
    spec = F.VectorFeature("text", dim=3, projection_dim=2)
    encoder = _RawEncoder([spec])
    out = encoder({"text": tf.constant([[1.0, np.nan, 2.0]])})
    assert out.shape == (1, 2)
    assert np.isfinite(np.asarray(out)).all()


def test_wrong_input_dtypes_name_the_feature():
    numeric = _RawEncoder([F.NumericFeature("age", mean=0.0, variance=1.0)])
    with pytest.raises(TypeError, match="'age' is numeric"):
        numeric({"age": tf.constant(["31"])})
    strings = _RawEncoder([F.CategoricalFeature(
        "city", dtype="string", vocabulary=["a"])])
    with pytest.raises(TypeError, match="'city'.*strings"):
        strings({"city": tf.constant([1, 2])})


def test_missing_input_is_reported():
    encoder = FeatureEncoder([F.NumericFeature("age", mean=0.0, variance=1.0),
                              F.NumericFeature("bmi", mean=0.0, variance=1.0)])
    with pytest.raises(ValueError, match=r"missing inputs.*\['bmi'\]"):
        encoder({"age": tf.constant([1.0])})


def test_unadapted_features_are_refused():
    with pytest.raises(ValueError, match="'city'.*adapt"):
        FeatureEncoder([F.CategoricalFeature("city")])


def test_config_and_keras_file_round_trip(impression_features, impressions):
    import keras

    import mtzoo

    encoder = FeatureEncoder(impression_features)
    assert FeatureEncoder.from_config(encoder.get_config()).get_config() \
        == encoder.get_config()
    inputs = {s.name: keras.Input(shape=s.encoded_shape(),
                                  dtype=s.encoded_dtype(), name=s.name)
              for s in impression_features}
    model = keras.Model(inputs, FeatureEncoder(impression_features)(inputs))
    x = mtzoo.data.model_inputs(impressions[1].iloc[:50], impression_features)
    original, reloaded, _ = saved_model_outputs(model, x)
    assert original.shape == (50, encoder.output_dim)
    np.testing.assert_allclose(original, reloaded, rtol=1e-6)
