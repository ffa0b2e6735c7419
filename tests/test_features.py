import dataclasses

import numpy as np
import pandas as pd

import mtzoo
import pytest

from mtzoo import features as F
from mtzoo.features import DataError


def test_vocabulary_is_ordered_by_frequency_and_respects_limits():
    frame = pd.DataFrame({"city": ["b", "a", "b", "c", "b", "a", None, ""]})
    (spec,) = F.adapt([F.CategoricalFeature("city")], frame)
    assert spec.dtype == "string"
    assert spec.vocabulary == ("b", "a", "c")  # missing values excluded
    (spec,) = F.adapt([F.CategoricalFeature("city", min_frequency=2)], frame)
    assert spec.vocabulary == ("b", "a")
    (spec,) = F.adapt([F.CategoricalFeature("city", max_tokens=1)], frame)
    assert spec.vocabulary == ("b",)


def test_integer_ids_are_inferred_and_missing_becomes_minus_one():
    frame = pd.DataFrame({"item": [3, 5, 3, np.nan]})
    (spec,) = F.adapt([F.CategoricalFeature("item", dtype="int64")], frame)
    assert spec.vocabulary == (3, 5)
    np.testing.assert_array_equal(spec.to_array(frame), [3, 5, 3, -1])
    inferred = F.adapt([F.CategoricalFeature("item")],
                       pd.DataFrame({"item": [1, 2, 2]}))
    assert inferred[0].dtype == "int64"


def test_numeric_statistics_use_the_log_transform_and_skip_missing():
    frame = pd.DataFrame({"price": [0.0, 9.0, 99.0, np.nan, np.inf]})
    (spec,) = F.adapt([F.NumericFeature("price", log_transform=True)], frame)
    logs = np.log1p([0.0, 9.0, 99.0])
    assert spec.mean == pytest.approx(logs.mean())
    assert spec.variance == pytest.approx(logs.var())


def test_numeric_log_transform_auto_takes_the_log_of_skewed_counts_only():
    rng = np.random.default_rng(0)
    counts = np.floor(rng.lognormal(3.0, 1.5, 4000)) + 1e6 * (
        np.arange(4000) == 7)  # one huge value, read in two chunks
    frame = pd.DataFrame({
        "votes": counts,
        "temperature": rng.normal(15.0, 8.0, 4000),  # symmetric, negative
        "timestamp": 1.7e9 + rng.uniform(0, 1e7, 4000),  # large, flat
        "rain": np.where(rng.random(4000) < 0.9, 0.0, 0.01),  # the log
    })                                                # barely helps
    names = list(frame.columns)
    specs = F.adapt([F.NumericFeature(n) for n in names],
                    [frame.iloc[:2000], frame.iloc[2000:]])
    decided = {s.name: s.log_transform for s in specs}
    assert decided == {"votes": True, "temperature": False,
                       "timestamp": False, "rain": False}
    logs = np.log1p(counts)
    assert specs[0].mean == pytest.approx(logs.mean())
    assert specs[0].variance == pytest.approx(logs.var())
    assert specs[0].value_range == pytest.approx((logs.min(), logs.max()))
    assert specs[1].mean == pytest.approx(frame["temperature"].mean())
    # Decided once: a saved spec keeps its choice, and statistics given
    # by hand are of raw values.
    assert F.NumericFeature.from_config(specs[0].get_config()) == specs[0]
    assert F.NumericFeature("x", mean=1.0, variance=1.0).log_transform \
        is False
    with pytest.raises(ValueError, match="log_transform"):
        F.NumericFeature("x", log_transform="yes")


def test_multi_valued_lists_and_separated_strings():
    frame = pd.DataFrame({"genres": ["a|b", "c", None, "a|b|c|d"]})
    (spec,) = F.adapt([F.MultiCategoricalFeature("genres", separator="|")],
                      frame)
    assert spec.max_length == 4
    assert spec.vocabulary[:2] == ("a", "b")
    array = spec.to_array(frame)
    assert array.shape == (4, 4)
    assert list(array[0]) == ["a", "b", "", ""]
    assert list(array[2]) == ["", "", "", ""]
    # The encoded lists keep the first `max_length` values; padding is -1.
    short = dataclasses.replace(spec, max_length=2)
    ids = mtzoo.data.encoded_arrays(frame, [short])["genres"]
    vocabulary = list(spec.vocabulary)
    assert ids.shape == (4, 2) and ids.dtype == np.int32
    assert list(ids[3]) == [1 + vocabulary.index("a"),
                            1 + vocabulary.index("b")]
    assert list(ids[2]) == [-1, -1]
    assert list(ids[1]) == [1 + vocabulary.index("c"), -1]


@pytest.mark.parametrize("dtype, separator, cells, expected", [
    ("int64", None,
     [[1, 2], [], None, np.array([3, 4, 5]), [np.nan, 7], (8,), [-1]],
     [[1, 2], [], [], [3, 4, 5], [7], [8], [-1]]),
    ("string", None,
     [["a", "b"], [], None, np.array(["c"], dtype=object),
      [None, "d", 1.0, b"x", 2.5], ("",)],
     [["a", "b"], [], [], ["c"], ["d", "1", "x", "2.5"], [""]]),
    ("string", "|", ["a|b", "", None, "c||d", ["e", "f"], np.nan, "|"],
     [["a", "b"], [], [], ["c", "d"], ["e", "f"], [], []]),
    ("int64", "|", ["1|2", "", None, "3||4", [5, 6]],
     [[1, 2], [], [], [3, 4], [5, 6]]),
])
def test_list_cells_convert_as_the_model_reads_them(dtype, separator, cells,
                                                     expected):
    from mtzoo.features import multi_categorical

    frame = pd.DataFrame({"g": cells}, index=range(10, 10 + len(cells)))
    spec = F.MultiCategoricalFeature("g", dtype=dtype, separator=separator)
    # Without a loop over the items, as row by row: missing items and
    # empty separated parts dropped, numbers as tokens or ids.
    assert multi_categorical._FlatLists.of(spec, frame) is not None
    assert spec.value_lists(frame) == spec._converted(frame) == expected
    assert spec.value_lists(frame.iloc[:0]) == []
    array = spec.to_array(frame)
    assert array.shape == (len(cells), max(max(map(len, expected)), 1))
    pad = -1 if dtype == "int64" else ""
    for row, values in zip(array, expected):
        assert list(row[:len(values)]) == values
        assert all(v == pad for v in row[len(values):])
    # Bad cells and ids go row by row, which names them.
    ids = F.MultiCategoricalFeature("g", dtype="int64")
    for bad, message in ((["x"], "row 1 has 'x'"), ([1.5], "row 1 has 1.5"),
                         (3, "holds int 3 at row 1")):
        with pytest.raises(DataError, match=message):
            ids.to_array(pd.DataFrame({"g": [[1], bad]}))


def test_shared_table_learns_one_vocabulary_from_both_columns():
    frame = pd.DataFrame({"item": [1, 2, 3],
                          "history": [[7, 1], [8, 7], [7]]})
    specs = F.adapt([
        F.CategoricalFeature("item", dtype="int64", embedding_table="items"),
        F.MultiCategoricalFeature("history", dtype="int64",
                                  embedding_table="items"),
    ], frame)
    assert specs[0].vocabulary == specs[1].vocabulary
    assert set(specs[0].vocabulary) == {1, 2, 3, 7, 8}
    assert specs[0].vocabulary[0] == 7  # most frequent first


def test_adapt_reads_chunks_like_one_frame():
    frame = pd.DataFrame({"x": np.arange(100.0), "c": list("ab") * 50})
    specs = [F.NumericFeature("x"), F.CategoricalFeature("c")]
    whole = F.adapt(specs, frame)
    chunked = F.adapt(specs, (frame.iloc[i:i + 30] for i in range(0, 100, 30)))
    assert whole[0].mean == pytest.approx(chunked[0].mean)
    assert whole[0].variance == pytest.approx(chunked[0].variance)
    assert whole[1].vocabulary == chunked[1].vocabulary


def test_numeric_column_with_strings_names_feature_column_and_row():
    frame = pd.DataFrame({"age": ["31", "40", "abc", "22"]})
    with pytest.raises(DataError,
                       match=r"Feature 'age'.*column 'age'.*row 2.*'abc'"):
        F.adapt([F.NumericFeature("age")], frame)


def test_missing_column_names_feature_and_column():
    with pytest.raises(DataError, match="'city' reads column 'town'"):
        F.adapt([F.CategoricalFeature("city", column="town")],
                pd.DataFrame({"city": ["a"]}))


def test_non_integer_id_is_reported():
    frame = pd.DataFrame({"item": [1.0, 2.5]})
    with pytest.raises(DataError, match=r"'item'.*integer ids.*row 1.*2.5"):
        F.CategoricalFeature("item", dtype="int64").to_array(frame)


def test_vector_of_wrong_length_is_reported():
    frame = pd.DataFrame({"emb": [[1.0, 2.0], [1.0]]})
    with pytest.raises(DataError, match=r"'emb'.*2 numbers.*row 1.*has 1"):
        F.VectorFeature("emb", dim=2).to_array(frame)


def test_multi_valued_string_without_separator_is_reported():
    frame = pd.DataFrame({"tags": ["a,b"]})
    with pytest.raises(DataError, match="separator"):
        F.MultiCategoricalFeature("tags").to_array(frame)


@pytest.mark.parametrize("make, message", [
    (lambda: F.CategoricalFeature("bad name"), "Feature name"),
    (lambda: F.CategoricalFeature("x", embedding_dim=0), "embedding_dim=0"),
    (lambda: F.CategoricalFeature("x", dtype="float"), "dtype"),
    (lambda: F.CategoricalFeature("x", hash_bins=10, vocabulary=["a"]),
     "both"),
    (lambda: F.MultiCategoricalFeature("x", pooling="median"), "pooling"),
    (lambda: F.VectorFeature("x"), "dim"),
    (lambda: F.CategoricalFeature("x", dtype="int64", vocabulary=[1, -1]),
     "reserved"),
])
def test_invalid_specs(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_duplicate_and_inconsistent_shared_tables():
    with pytest.raises(ValueError, match="'a' is used twice"):
        F.validate([F.NumericFeature("a"), F.NumericFeature("a")])
    with pytest.raises(ValueError, match="share embedding table 't'.*"
                                         "embedding_dim"):
        F.validate([
            F.CategoricalFeature("a", embedding_table="t", embedding_dim=4),
            F.CategoricalFeature("b", embedding_table="t", embedding_dim=8),
        ])


def test_unadapted_spec_is_reported():
    with pytest.raises(ValueError, match="'city'.*vocabulary.*adapt"):
        F.check_adapted([F.CategoricalFeature("city", dtype="string")])


def test_serialize_round_trip():
    spec = F.MultiCategoricalFeature("g", dtype="string", vocabulary=["a"],
                                     max_length=3, pooling="max")
    assert F.deserialize(F.serialize(spec)) == spec


def _gains(rows=4000, seed=0):
    rng = np.random.default_rng(seed)
    gain = np.where(rng.random(rows) < 0.7, 0.0,
                    rng.choice([3.5, 7688.0, 15024.0, 99.0], rows))
    one_off = rng.random(rows) < 0.05
    gain[one_off] = rng.uniform(0, 20000, one_off.sum())
    frame = pd.DataFrame({"gain": gain,
                          "age": rng.integers(0, 90, rows).astype(float)})
    return frame


def test_numeric_piecewise_linear_bins_follow_the_training_quantiles():
    frame = _gains()
    (age,) = F.adapt([F.NumericFeature("age", piecewise_linear_bins=4,
                                       missing_indicator=True)], frame)
    assert len(age.bin_edges) == 5
    np.testing.assert_allclose(
        age.bin_edges, np.quantile(frame["age"], [0, .25, .5, .75, 1]),
        atol=1.0)
    lo, hi = age.bin_edges[1], age.bin_edges[2]
    probe = pd.DataFrame({"age": [lo + (hi - lo) / 2, 1000.0, np.nan]})
    encoded = mtzoo.data.encoded_arrays(probe, [age])["age"]
    assert encoded.shape == (3, 1 + 1 + 4)
    # standardized value, missing flag, then the bins
    np.testing.assert_allclose(encoded[0, 2:], [1.0, 0.5, 0.0, 0.0],
                               atol=1e-6)
    np.testing.assert_allclose(encoded[1, 2:], [1.0] * 4)
    np.testing.assert_allclose(encoded[2, 1:], [1.0, 0, 0, 0, 0])
    assert age.output_dim == 6


def test_numeric_values_beyond_the_training_range_are_compressed():
    frame = pd.DataFrame({"x": np.arange(11.0)})  # range [0, 10], std ~3.16
    specs = F.adapt([F.NumericFeature("x"),
                     F.NumericFeature("clipped", column="x",
                                      beyond_range="clip"),
                     F.NumericFeature("linear", column="x",
                                      beyond_range="linear")], frame)
    assert specs[0].value_range == (0.0, 10.0)
    assert specs[2].value_range is None
    probe = pd.DataFrame({"x": [5.0, 10.0, 20.0, 1000.0, -1000.0]})
    encoded = mtzoo.data.encoded_arrays(probe, specs)
    std = np.sqrt(10.0)
    inside = (10.0 - 5.0) / std
    # Inside the range all three agree; beyond it only "linear" grows
    # linearly, "compress" by log1p(excess / std) stds, "clip" not at all.
    for name in ("x", "clipped", "linear"):
        np.testing.assert_allclose(encoded[name][:2, 0], [0.0, inside],
                                   rtol=1e-5)
    np.testing.assert_allclose(
        encoded["x"][2:, 0],
        [inside + np.log1p(10 / std), inside + np.log1p(990 / std),
         -inside - np.log1p(1000 / std)], rtol=1e-5)
    np.testing.assert_allclose(encoded["clipped"][2:, 0],
                               [inside, inside, -inside], rtol=1e-5)
    np.testing.assert_allclose(encoded["linear"][3, 0], 995 / std,
                               rtol=1e-5)
    assert F.NumericFeature.from_config(specs[0].get_config()) == specs[0]


def test_numeric_statistics_given_without_a_range_stay_linear():
    # As saved before ranges were learned: adapted, and served unchanged.
    spec = F.NumericFeature("x", mean=0.0, variance=1.0)
    assert spec.is_adapted and spec.value_range is None
    encoded = mtzoo.data.encoded_arrays(pd.DataFrame({"x": [50.0]}), [spec])
    np.testing.assert_allclose(encoded["x"][:, 0], [50.0])
    with pytest.raises(ValueError, match="beyond_range.*'compress'"):
        F.NumericFeature("x", beyond_range="squash")


def test_numeric_embed_values_gives_frequent_values_their_own_rows():
    frame = _gains()
    (gain,) = F.adapt([F.NumericFeature(
        "gain", log_transform=True, embed_values=True, min_frequency=20,
        embedding_dim=4)], frame)
    assert gain.value_vocabulary == (0.0, 3.5, 99.0, 7688.0, 15024.0)
    probe = pd.DataFrame({"gain": [0.0, 15024.0, 12345.0, np.nan]})
    ids = mtzoo.data.encoded_arrays(probe, [gain])["gain"][:, -1]
    np.testing.assert_array_equal(ids, [1, 5, 0, 0])
    assert gain.output_dim == 1 + 4
    assert gain.embedding() == ("gain", 6, 4)
    assert F.NumericFeature.from_config(gain.get_config()) == gain


def test_numeric_options_train_and_serve_raw_values(tmp_path):
    frame = _gains(6000)
    # Income-like: a step in age and a spike at one exact gain.
    frame["rich"] = ((frame["gain"] == 7688.0)
                     | (frame["age"] > 60)).astype("float32")
    features = F.adapt([
        F.NumericFeature("gain", log_transform=True, embed_values=True),
        F.NumericFeature("age", piecewise_linear_bins=8)], frame)
    tasks = [mtzoo.tasks.binary("rich")]
    model = mtzoo.models.mmoe(features, tasks, num_experts=2,
                              expert_units=[16], tower_units=[8])
    model.compile(optimizer="adam")
    model.fit(mtzoo.data.from_dataframe(frame, features, tasks,
                                        batch_size=256, shuffle=True,
                                        seed=0), epochs=6, verbose=0)
    encoded = mtzoo.data.model_inputs(frame.iloc[:500], features)
    predicted = np.asarray(model.predict(encoded, verbose=0)["rich"]).ravel()
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(frame["rich"][:500], predicted) > 0.99
    served = mtzoo.models.serving_model(model)(
        mtzoo.data.feature_arrays(frame.iloc[:500], features))
    np.testing.assert_allclose(np.asarray(served["rich"]).ravel(), predicted,
                               atol=1e-5)
    path = tmp_path / "model.keras"
    mtzoo.models.save_model(model, path)
    reloaded = mtzoo.models.load_model(path)
    np.testing.assert_allclose(
        np.asarray(reloaded.predict(encoded, verbose=0)["rich"]).ravel(),
        predicted, atol=1e-5)
