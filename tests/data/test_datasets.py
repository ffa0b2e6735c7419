"""Loaders on the real files in ../shared/data (skipped when absent)."""

import pathlib

import pandas as pd
import keras
import pytest

import mtzoo

SHARED = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / \
    "data"


def _folder(name):
    folder = SHARED / name
    if not folder.is_dir():
        pytest.skip(f"real data not available: {folder} is missing")
    return folder


@pytest.fixture(scope="module")
def census():
    return mtzoo.data.census_income(_folder("census-income"))


def test_census_rows_and_positive_labels(census):
    assert (len(census.train), len(census.test)) == (199_523, 99_762)
    assert int(census.train["income"].sum()) == 12_382
    assert int(census.test["income"].sum()) == 6_186
    assert 0.4 < census.train["marital"].mean() < 0.45


def test_census_labels_and_weight_are_never_features(census):
    sources = {f.source for f in census.features}
    for column in ("instance_weight", "income_50k", "marital_stat",
                   "income", "marital"):
        assert column not in sources
    assert len(census.features) == 39
    assert [t.name for t in census.tasks] == ["income", "marital"]


def test_census_keeps_na_as_a_category(census):
    hisp = next(f for f in census.features if f.name == "hisp_origin")
    assert "NA" in hisp.vocabulary
    assert not census.train.isna().any().any()


def test_census_value_embeddings_choose_columns():
    from mtzoo.data.datasets import census_income

    def embedded(option):
        return [f.name for f in census_income.feature_specs(
            value_embeddings=option) if getattr(f, "embed_values", False)]

    assert embedded(True) == list(census_income.HEAVY_TAILED)
    assert embedded(False) == []
    assert embedded(["age", "weeks_worked"]) == ["age", "weeks_worked"]
    with pytest.raises(ValueError, match="'education'.*not census numbers"):
        census_income.feature_specs(value_embeddings=["age", "education"])


def test_census_instance_weight_option():
    bundle = mtzoo.data.census_income(_folder("census-income"),
                                      use_instance_weight=True)
    assert all(t.weight_column == "instance_weight" for t in bundle.tasks)


def test_movielens_100k():
    bundle = mtzoo.data.movielens(_folder("movielens-100k"))
    everything = pd.concat([bundle.train, bundle.test])
    assert len(everything) == 100_000
    assert everything["user_id"].nunique() == 943
    assert everything["movie_id"].nunique() == 1_682
    assert bundle.train["timestamp"].max() <= bundle.test["timestamp"].min()
    assert len(bundle.test) == 20_000
    liked = everything["liked"] == (everything["rating"] >= 4)
    assert liked.all()
    genres = next(f for f in bundle.features if f.name == "genres")
    assert "Drama" in genres.vocabulary and genres.max_length >= 3


@pytest.mark.parametrize("sample", ["ml-1m_sample_torch-rechub.csv",
                                    "movielens_sample_deepctr.txt"])
def test_movielens_joined_samples(sample):
    joined = pd.read_csv(_folder("movielens-1m-samples") / sample)
    bundle = mtzoo.data.datasets.movielens.from_frame(joined)
    assert len(bundle.train) + len(bundle.test) == len(joined)
    assert {t.name for t in bundle.tasks} == {"rating", "liked"}


def test_movielens_1m_dat_layout(tmp_path):
    joined = pd.read_csv(_folder("movielens-1m-samples")
                         / "ml-1m_sample_torch-rechub.csv")
    write = lambda name, frame: (tmp_path / name).write_text(  # noqa: E731
        "\n".join("::".join(map(str, row)) for row in
                  frame.itertuples(index=False)) + "\n", encoding="latin-1")
    write("ratings.dat", joined[["user_id", "movie_id", "rating",
                                 "timestamp"]])
    write("users.dat", joined[["user_id", "gender", "age", "occupation",
                               "zip"]].drop_duplicates("user_id"))
    write("movies.dat", joined[["movie_id", "title", "genres"]]
          .drop_duplicates("movie_id"))
    bundle = mtzoo.data.movielens(tmp_path, variant="1m")
    assert len(bundle.train) + len(bundle.test) == len(joined)


def test_ali_ccp_samples():
    bundle = mtzoo.data.ali_ccp(_folder("ali-ccp"))
    assert (len(bundle.train), len(bundle.validation), len(bundle.test)) == (
        100, 50, 50)
    assert [t.name for t in bundle.tasks] == ["click", "purchase"]
    names = {f.name for f in bundle.features}
    assert "f205" in names and "D109_14" in names
    assert not names & {"click", "purchase"}
    # A purchase implies a click: purchase is ESMM's CTCVR label.
    frame = pd.concat([bundle.train, bundle.validation, bundle.test])
    assert (frame["purchase"] <= frame["click"]).all()


def test_aliexpress_samples():
    bundle = mtzoo.data.aliexpress(_folder("aliexpress"))
    assert (len(bundle.train), len(bundle.test)) == (100, 20)
    assert [t.name for t in bundle.tasks] == ["click", "conversion"]
    assert len(bundle.features) == 16 + 63
    assert "search_id" not in {f.source for f in bundle.features}


def test_loaders_train_a_model_end_to_end():
    bundle = mtzoo.data.ali_ccp(_folder("ali-ccp"))
    model = mtzoo.models.build("esmm", bundle.features, [
        mtzoo.tasks.binary("click"), mtzoo.tasks.binary("purchase")],
        ctr_task="click", ctcvr_task="purchase")
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    data = mtzoo.data.from_dataframe(bundle.train, bundle.features,
                                     bundle.tasks, batch_size=32)
    before = model.evaluate(data, verbose=0, return_dict=True)["loss"]
    model.fit(data, epochs=5, verbose=0)
    after = model.evaluate(data, verbose=0, return_dict=True)["loss"]
    assert after < 0.9 * before  # the loaded columns carry signal to fit


def test_split_validation_is_disjoint_and_seeded(census):
    split = census.split_validation(0.1, seed=3)
    assert len(split.validation) == round(0.1 * len(census.train))
    assert len(split.train) + len(split.validation) == len(census.train)
    again = census.split_validation(0.1, seed=3)
    pd.testing.assert_frame_equal(split.validation, again.validation)
