"""Behaviour sequences: past items, newest last, pooled by mean, target
attention (DIN) or a transformer (BST), through the item's table."""

import keras
import numpy as np
import pandas as pd
import pytest

import mtzoo
from mtzoo import features as F
from mtzoo import tasks as T

ITEMS = 60


def _histories(rows: int, seed: int = 0) -> pd.DataFrame:
    """Each row: a history of 1-12 items and a candidate item; `clicked`
    when the candidate is in the history (what target attention finds),
    `recent` when the newest item is one of the first half (what reading
    the newest position finds)."""
    rng = np.random.default_rng(seed)
    histories, candidates = [], []
    for _ in range(rows):
        history = rng.choice(ITEMS, size=rng.integers(1, 13), replace=False)
        candidate = (rng.choice(history) if rng.random() < 0.5
                     else rng.integers(ITEMS))
        histories.append([int(v) for v in history])
        candidates.append(int(candidate))
    frame = pd.DataFrame({"history": histories, "item": candidates})
    frame["clicked"] = [float(c in h) for c, h in zip(candidates,
                                                       histories)]
    frame["recent"] = [float(h[-1] < ITEMS // 2) for h in histories]
    return frame


def _specs(frame, pooling, **options):
    return F.adapt([
        F.CategoricalFeature("item", dtype="int64", embedding_dim=16),
        F.SequenceFeature("history", dtype="int64", embedding_table="item",
                          embedding_dim=16, max_length=8, pooling=pooling,
                          **options)], frame)


def test_the_newest_items_are_kept_and_right_aligned():
    frame = pd.DataFrame({"history": [[1, 2, 3, 4, 5], [7], []],
                          "item": [1, 2, 3]})
    item, history = F.adapt([
        F.CategoricalFeature("item", dtype="int64"),
        F.SequenceFeature("history", dtype="int64", embedding_table="item",
                          max_length=3)], frame)
    ids = mtzoo.data.encoded_arrays(frame, [history])["history"]
    # The ids the shared table gives items 3, 4, 5 and 7 as candidates.
    candidates = mtzoo.data.encoded_arrays(
        pd.DataFrame({"item": [3, 4, 5, 7]}), [item])["item"].ravel()
    # Newest last; a shorter history is padded first (-1).
    np.testing.assert_array_equal(ids, [candidates[:3],
                                        [-1, -1, candidates[3]],
                                        [-1, -1, -1]])


@pytest.fixture(scope="module")
def clicks():
    return _histories(3000), _histories(1000, seed=1)


@pytest.mark.parametrize("pooling,options", [
    ("mean", {}), ("transformer", {"num_heads": 2}),
    ("target_attention", {"target": "item"})])
def test_each_pooling_trains_and_round_trips(pooling, options, clicks,
                                             tmp_path):
    train, test = clicks
    specs = _specs(train, pooling, **options)
    tasks = [T.binary("clicked"), T.binary("recent")]
    model = mtzoo.models.build("shared_bottom", specs, tasks,
                               bottom_units=(32,), tower_units=())
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(mtzoo.data.from_dataframe(train, specs, tasks, batch_size=128,
                                        shuffle=True, seed=0),
              epochs=8, verbose=0)
    result = model.evaluate(mtzoo.data.from_dataframe(
        test, specs, tasks, batch_size=512), return_dict=True, verbose=0)
    if pooling == "target_attention":
        # Whether the candidate is among the past items is what the
        # attention unit scores: it learns it nearly perfectly.
        assert result["clicked_auc"] > 0.85
    if pooling == "transformer":
        # The newest position is what the transformer is read at.
        assert result["recent_auc"] > 0.85
    if pooling == "mean":
        # A mean knows the history only as a whole: a little of both.
        assert 0.55 < result["clicked_auc"] < 0.9
        assert 0.55 < result["recent_auc"] < 0.9
    path = tmp_path / "model.keras"
    mtzoo.models.save_model(model, path)
    reloaded = mtzoo.models.load_model(path)
    inputs = mtzoo.data.model_inputs(test.iloc[:64], specs)
    np.testing.assert_allclose(reloaded.predict(inputs, verbose=0)["clicked"],
                               model.predict(inputs, verbose=0)["clicked"],
                               atol=1e-5)


def test_target_attention_needs_a_target_of_the_same_table():
    frame = _histories(50)
    with pytest.raises(ValueError, match="set `target`"):
        F.SequenceFeature("history", pooling="target_attention")
    specs = F.adapt([
        F.CategoricalFeature("item", dtype="int64"),
        F.SequenceFeature("history", dtype="int64", pooling="target_attention",
                          target="item")], frame)
    with pytest.raises(ValueError, match="embedding_table='item'"):
        mtzoo.models.build("shared_bottom", specs, [T.binary("clicked")])
    with pytest.raises(ValueError, match="pooling.*one of"):
        F.SequenceFeature("history", pooling="sum")


def test_a_history_feeds_the_query_tower_and_the_saved_model_takes_raw_ids(
        clicks, tmp_path):
    import tensorflow as tf

    train, _ = clicks
    train = train.assign(user=np.arange(len(train)) % 50)
    specs = F.adapt([
        F.CategoricalFeature("item", dtype="int64", embedding_dim=16),
        F.CategoricalFeature("user", dtype="int64"),
        F.SequenceFeature("history", dtype="int64", embedding_table="item",
                          embedding_dim=16, max_length=8,
                          pooling="transformer")], train)
    task = T.retrieval("next_item", candidate_features=("item",),
                       exclude_seen="history")
    model = mtzoo.models.build("two_tower", specs, [task])
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(mtzoo.data.from_dataframe(train, specs, [task],
                                        batch_size=256), epochs=1, verbose=0)
    path = mtzoo.export.export_saved_model(model, tmp_path / "export",
                                           model_name="m")
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    # Histories of any length, padded with -1 at the end.
    out = serve(item=tf.constant([3, 4], tf.int64),
                user=tf.constant([1, 2], tf.int64),
                history=tf.constant([[5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
                                     [5, -1, -1, -1, -1, -1, -1, -1, -1,
                                      -1]], tf.int64))
    direct = model.predict(mtzoo.data.model_inputs(pd.DataFrame({
        "item": [3, 4], "user": [1, 2],
        "history": [list(range(5, 15)), [5]]}), specs), verbose=0)
    np.testing.assert_allclose(out["next_item"].numpy(),
                               direct["next_item"], atol=1e-5)

    # Leaving past items out of the ranking can only lift the candidate.
    import dataclasses

    catalogue = mtzoo.retrieval.catalogue(train, specs, [task])
    unseen = mtzoo.retrieval.evaluate(model, train.iloc[:300], catalogue)
    every = mtzoo.retrieval.evaluate(
        model, train.iloc[:300], dataclasses.replace(
            catalogue, task=dataclasses.replace(task, exclude_seen=None)))
    for k in (1, 10):
        assert unseen[f"recall_at_{k}"] >= every[f"recall_at_{k}"]
    assert unseen["ndcg_at_10"] > every["ndcg_at_10"]

    attending = F.adapt([
        F.CategoricalFeature("item", dtype="int64"),
        F.SequenceFeature("history", dtype="int64", embedding_table="item",
                          pooling="target_attention", target="item")],
        train)
    with pytest.raises(ValueError, match="attends to candidate feature"):
        mtzoo.models.build("two_tower", attending, [dataclasses.replace(
            task, exclude_seen=None)])
    with pytest.raises(ValueError, match="exclude_seen='user' must name"):
        mtzoo.models.build("two_tower", specs, [dataclasses.replace(
            task, exclude_seen="user")])


def test_histories_hold_only_strictly_earlier_events_of_the_user():
    events = pd.DataFrame({
        "user": [1, 1, 2, 1, 1, 2, 1],
        "item": [10, 11, 20, 12, 13, 21, 14],
        "time": [5, 1, 3, 5, 2, 3, 9]})
    out = mtzoo.data.add_histories(events, user="user", item="item",
                                   time="time", length=2)
    # Rows keep their order. User 1's events by time: 11 (1), 13 (2),
    # then 10 and 12 tied at 5 (neither is in the other's history), 14 (9).
    assert out["history"].tolist() == [
        [11, 13], [], [], [11, 13], [11], [], [10, 12]]
    with pytest.raises(mtzoo.data.DataError, match="column 'time'.*row 1"):
        mtzoo.data.add_histories(events.assign(time=[1, None, 2, 3, 4, 5,
                                                     6]),
                                 user="user", item="item", time="time",
                                 length=2)


def test_id_dropout_reads_the_unknown_row_in_training_only():
    frame = pd.DataFrame({"user": np.arange(400) % 100})
    (user,) = F.adapt([F.CategoricalFeature("user", dtype="int64",
                                            id_dropout=0.5)], frame)
    encoder = mtzoo.layers.FeatureEncoder([user])
    encoded = {"user": mtzoo.data.encoded_arrays(frame, [user])["user"]}
    unknown = encoder.embedding_table("user")[0].numpy()
    served = encoder(encoded, training=False).numpy()
    trained = encoder(encoded, training=True).numpy()
    assert not np.isclose(served, unknown).all(axis=1).any()
    dropped = np.isclose(trained, unknown).all(axis=1)
    assert 0.4 < dropped.mean() < 0.6
    np.testing.assert_allclose(trained[~dropped], served[~dropped])
    with pytest.raises(ValueError, match="id_dropout.*hash_bins"):
        F.CategoricalFeature("user", hash_bins=10, id_dropout=0.1)


def test_a_history_without_a_dtype_takes_its_tables():
    frame = pd.DataFrame({"item": [1, 2], "history": ["1", "2 1"]})
    item, history = F.adapt([
        F.CategoricalFeature("item", dtype="int64"),
        F.SequenceFeature("history", embedding_table="item", separator=" ")],
        frame)
    assert history.dtype == item.dtype == "int64"
    with pytest.raises(ValueError, match="differ in `dtype`"):
        F.validate([F.CategoricalFeature("item", dtype="int64"),
                    F.SequenceFeature("history", embedding_table="item",
                                      dtype="string")])


def test_items_first_seen_after_training_are_exported_and_retrieved(
        tmp_path):
    import json
    import subprocess
    import sys

    from mtzoo import cli

    words = [("guitar", "amp"), ("sax", "trumpet"), ("banjo", "fiddle")]
    rng = np.random.default_rng(0)

    def items(ids):
        return pd.DataFrame({"item": ids, "title": [
            f"{words[i % 3][rng.integers(2)]} model {rng.integers(100)}"
            for i in ids]})

    catalogue = items(np.arange(60))
    rows = [(user, item) for user in range(90) for item in rng.choice(
        np.arange(user % 3, 60, 3), size=12, replace=False)]
    events = pd.DataFrame(rows, columns=["user", "item"]).merge(catalogue)
    specs = F.adapt([
        F.CategoricalFeature("user", dtype="int64"),
        # Id dropout: the tower learns to score an item from its title.
        F.CategoricalFeature("item", dtype="int64", id_dropout=0.5),
        F.TextFeature("title", max_length=4)], events)
    task = T.retrieval("item_retrieval", candidate_features=("item", "title"))
    model = mtzoo.models.build("two_tower", specs, [task])
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(mtzoo.data.from_dataframe(events, specs, [task],
                                        batch_size=128, shuffle=True,
                                        seed=0), epochs=8, verbose=0)
    mtzoo.models.save_model(model, tmp_path / "run" / "model.keras")
    # Products the model never saw, by their titles alone.
    unseen = items(np.arange(1000, 1030))
    unseen.to_csv(tmp_path / "new_items.csv", index=False)
    assert cli.main(["export", "catalogue",
                     str(tmp_path / "run" / "model.keras"),
                     "--items", str(tmp_path / "new_items.csv"),
                     "--export-dir", str(tmp_path / "export")]) == 0
    version = next((tmp_path / "export" / "run").iterdir())
    code = f"""
import json, tensorflow as tf
top_k = tf.saved_model.load({str(version)!r}).signatures["top_k"]
out = top_k(user=tf.constant([0, 1, 2], tf.int64))
print(json.dumps(out["ids"].numpy()[:, :10].tolist()))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    top = json.loads(done.stdout.strip().splitlines()[-1])
    # Each user is shown new products of the kind they play.
    for user, ids in enumerate(top):
        assert set(ids) <= set(unseen["item"])
        assert np.mean([i % 3 == user for i in ids]) >= 0.8


def test_leave_one_out_holds_out_each_users_last_rating():
    from mtzoo.data.datasets import movielens

    frame = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3],
                          "movie_id": [10, 11, 12, 20, 21, 30],
                          "timestamp": [3, 1, 2, 5, 5, 9]})
    train, test = movielens.split_leave_one_out(frame)
    # User 1's last is 10 (time 3); user 2's two ties: the later row, 21.
    assert sorted(test["movie_id"]) == [10, 21, 30]
    assert sorted(train["movie_id"]) == [11, 12, 20]


def test_next_item_head_trains_each_position_on_the_item_after_it():
    from mtzoo.retrieval import NextItemHead

    head = NextItemHead(5, 2)
    head.build()
    head.item_vectors.assign(np.random.default_rng(0).normal(
        size=(5, 3)).astype("float32"))
    queries = np.random.default_rng(1).normal(size=(2, 3, 2)).astype(
        "float32")
    # Right-aligned histories (-1: padding) and each row's own item.
    history = np.array([[-1, 1, 2], [-1, -1, -1]], "int32")
    output = keras.ops.convert_to_numpy(
        head([queries, history, np.array([4, 3], "int32")], training=True))
    loss, has_target = output[:, :3], output[:, 3:]
    # Row 0: positions 1, 2 predict 2 and the row's item 4; row 1 (no
    # history) predicts its item from the newest position alone.
    np.testing.assert_array_equal(has_target, [[0, 1, 1], [0, 0, 1]])
    vectors = keras.ops.convert_to_numpy(head.item_vectors)
    for row, position, target in ((0, 1, 2), (0, 2, 4), (1, 2, 3)):
        logits = np.append(queries[row, position], 1.0) @ vectors.T
        expected = np.log(np.exp(logits).sum()) - logits[target]
        np.testing.assert_allclose(loss[row, position], expected, rtol=1e-5)
    assert loss[0, 0] == 0 and loss[1, 0] == 0
    # Outside training, only each row's own item counts.
    evaluated = keras.ops.convert_to_numpy(
        head([queries, history, np.array([4, 3], "int32")]))
    np.testing.assert_array_equal(evaluated[:, 3:], [[0, 0, 1], [0, 0, 1]])
    np.testing.assert_allclose(evaluated[:, 2], loss[:, 2], rtol=1e-6)


def test_next_item_head_draws_positions_with_a_target_at_each_step():
    from mtzoo.retrieval import NextItemHead

    head = NextItemHead(9, 2, positions_per_row=2, seed=0)
    head.build()
    rng = np.random.default_rng(0)
    head.item_vectors.assign(rng.normal(size=(9, 3)).astype("float32"))
    queries = rng.normal(size=(3, 5, 2)).astype("float32")
    # Row 0 has five targets, row 1 two, row 2 only its own item.
    history = np.array([[1, 2, 3, 4, 5], [-1, -1, -1, 6, 7],
                        [-1, -1, -1, -1, -1]], "int32")
    ids = np.array([8, 1, 2], "int32")
    every = NextItemHead(9, 2)
    every.build()
    every.item_vectors.assign(head.item_vectors)
    full = keras.ops.convert_to_numpy(
        every([queries, history, ids], training=True))[:, :5]
    drawn_losses = set()
    for _ in range(20):
        output = keras.ops.convert_to_numpy(
            head([queries, history, ids], training=True))
        loss, has_target = output[:, :5], output[:, 5:]
        # Two positions per row, those with a target first.
        np.testing.assert_array_equal(has_target[:, 2:], 0)
        np.testing.assert_array_equal(has_target.sum(axis=1), [2, 2, 1])
        np.testing.assert_array_equal(loss[:, 2:], 0)
        # Each drawn loss is the loss of one of the row's positions.
        for row in range(3):
            for value in loss[row, :int(has_target[row].sum())]:
                assert np.isclose(full[row], value, rtol=1e-5).any()
        drawn_losses.add(tuple(np.round(loss[0, :2], 4)))
    # Different positions at different steps.
    assert len(drawn_losses) > 3
    # Row 1 always draws both of its targets; row 2 its own item.
    np.testing.assert_allclose(sorted(loss[1, :2]), sorted(full[1, 3:]),
                               rtol=1e-5)
    np.testing.assert_allclose(loss[2, 0], full[2, 4], rtol=1e-5)
    # Outside training the newest position alone counts, as without.
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(head([queries, history, ids])),
        keras.ops.convert_to_numpy(every([queries, history, ids])))
    assert NextItemHead.from_config(
        head.get_config()).positions_per_row == 2
    with pytest.raises(ValueError, match="positions_per_row"):
        T.next_item("next", "item", positions_per_row=4)


def _chains(users: int, length: int, seed: int = 0) -> pd.DataFrame:
    """Each user walks the items in order from a random start (item i is
    followed by i + 1): one row per user, its history and next item."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(users):
        start = int(rng.integers(ITEMS))
        walk = [(start + step) % ITEMS for step in range(length + 1)]
        rows.append({"history": walk[:-1], "item": walk[-1]})
    return pd.DataFrame(rows)


def test_next_item_at_every_position_learns_what_follows_and_serves_it(
        tmp_path):
    train = _chains(400, 8)
    specs = F.adapt([
        F.CategoricalFeature("item", dtype="int64", embedding_dim=16),
        F.SequenceFeature("history", dtype="int64", embedding_table="item",
                          embedding_dim=16, max_length=8,
                          pooling="transformer")], train)
    task = T.next_item("next", "item", sequence="history",
                       query_features=["history"], exclude_seen="history")
    model = mtzoo.models.build("two_tower", specs, [task])
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(mtzoo.data.from_dataframe(train, specs, [task],
                                        batch_size=64, shuffle=True),
              epochs=8, verbose=0)
    # Short histories were never rows of training, only positions of
    # longer ones: the next item of each must still come first.
    short = pd.DataFrame({"history": [[i, i + 1] for i in range(0, 40, 4)],
                          "item": [i + 2 for i in range(0, 40, 4)]})
    catalogue = mtzoo.retrieval.catalogue(train, specs, [task])
    # Every position's item was a target, so is a candidate.
    assert len(mtzoo.retrieval.catalogue(train.iloc[:1], specs,
                                         [task])) == 9
    assert mtzoo.retrieval.evaluate(model, short, catalogue)[
        "recall_at_1"] >= 0.8

    # Saved and loaded safely, the query vector (the newest position's)
    # is the same.
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = mtzoo.models.load_model(path)
    np.testing.assert_allclose(
        mtzoo.retrieval.query_vectors(loaded, short),
        mtzoo.retrieval.query_vectors(model, short), atol=1e-5)
    # The SavedModel takes a raw history of any length and leaves its
    # items out of the results.
    import tensorflow as tf

    exported = mtzoo.export.export_saved_model(
        loaded, tmp_path / "export", model_name="m",
        catalogues={"next": catalogue}, top_k=10)
    unseen = tf.saved_model.load(str(exported)).signatures["top_k_unseen"]
    ids = unseen(history=tf.constant([[20, 21, 22, -1], [30, 31, -1, -1]],
                                     tf.int64))["ids"].numpy()
    assert ids[0, 0] == 23 and ids[1, 0] == 32
    assert not set(ids[0]) & {20, 21, 22}

    with pytest.raises(ValueError, match="negatives='all' or 'sampled'"):
        T.retrieval("next", candidate_features=["item"], sequence="history")
    mean_pooled = F.adapt([
        F.CategoricalFeature("item", dtype="int64"),
        F.SequenceFeature("history", dtype="int64", embedding_table="item")],
        train)
    with pytest.raises(ValueError, match="pooling='transformer'"):
        mtzoo.models.build("two_tower", mean_pooled, [task])
