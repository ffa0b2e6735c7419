import numpy as np
import tensorflow as tf

from mtzoo import features as F
from mtzoo.layers import FeaturePreprocessor
from mtzoo.layers import FusedVocabularyLookup

TABLES = {"city": {"vocabulary": ["paris", "rome"], "num_oov_buckets": 1},
          "item": {"vocabulary": [10, 20, 30], "num_oov_buckets": 3}}


def test_known_values_follow_the_oov_ids_and_unknown_ones_hash_into_them():
    lookup = FusedVocabularyLookup(TABLES)
    ids = lookup.lookup({"city": tf.constant(["rome", "oslo", ""]),
                         "item": tf.constant([30, 7, -1], tf.int64)})
    np.testing.assert_array_equal(ids["city"], [2, 0, 0])
    assert ids["item"][0] == 3 + 2
    assert 0 <= ids["item"][1] < 3 and 0 <= ids["item"][2] < 3
    # The same unknown value always gets the same bucket.
    again = lookup.lookup({"item": tf.constant([7], tf.int64)})["item"]
    assert again[0] == ids["item"][1]


def test_the_same_value_in_two_tables_is_two_keys():
    lookup = FusedVocabularyLookup({
        "a": {"vocabulary": ["x", "y"], "num_oov_buckets": 1},
        "b": {"vocabulary": ["y", "x"], "num_oov_buckets": 1}})
    ids = lookup.lookup({"a": tf.constant(["x"]), "b": tf.constant(["x"])})
    assert (int(ids["a"][0]), int(ids["b"][0])) == (1, 2)


def test_single_valued_features_cost_one_table_lookup():
    specs = [F.CategoricalFeature(f"c{i}", dtype="string",
                                  vocabulary=["a", "b"]) for i in range(6)]
    specs.append(F.CategoricalFeature("n", dtype="int64", vocabulary=[1]))
    preprocessor = FeaturePreprocessor(specs)
    spec = {s.name: tf.TensorSpec([None], tf.string if s.dtype == "string"
                                  else tf.int64) for s in specs}
    graph = tf.function(preprocessor).get_concrete_function(spec).graph
    finds = [op for op in graph.get_operations()
             if op.type == "LookupTableFindV2"]
    assert len(finds) == 1  # seven features, one op


def test_preprocessor_ids_match_per_feature_lookups():
    specs = [F.CategoricalFeature("city", dtype="string",
                                  vocabulary=["paris", "rome"]),
             F.MultiCategoricalFeature("tags", dtype="string",
                                       vocabulary=["x", "y"], max_length=3),
             F.CategoricalFeature("q", dtype="string", hash_bins=7)]
    out = FeaturePreprocessor(specs)({
        "city": tf.constant(["rome", "nowhere"]),
        "tags": tf.constant([["y", "zz", ""], ["x", "", ""]]),
        "q": tf.constant(["a", "a"])})
    np.testing.assert_array_equal(out["city"], [2, 0])
    np.testing.assert_array_equal(out["tags"], [[2, 0, -1], [1, -1, -1]])
    assert out["q"][0] == out["q"][1] and 0 <= out["q"][0] < 7


def test_config_round_trip():
    lookup = FusedVocabularyLookup(TABLES, name="v")
    again = FusedVocabularyLookup.from_config(lookup.get_config())
    assert again.get_config() == lookup.get_config()
    values = {"city": tf.constant(["paris"]),
              "item": tf.constant([20], tf.int64)}
    assert {k: int(v[0]) for k, v in again.lookup(values).items()} == \
        {k: int(v[0]) for k, v in lookup.lookup(values).items()}
