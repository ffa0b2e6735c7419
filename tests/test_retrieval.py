import keras
import numpy as np
import pandas as pd
import pytest

import mtzoo
from mtzoo import data
from mtzoo import features as F
from mtzoo import models
from mtzoo import retrieval
from mtzoo.retrieval import layout
from mtzoo import tasks as T


def _watch_log(rows=6_000, users=60, items=60, seed=0):
    """Users each watch items of one of 6 genres (90% of the time)."""
    rng = np.random.default_rng(seed)
    genre_of_item = np.arange(items) % 6
    taste = rng.integers(0, 6, users)
    user = rng.integers(0, users, rows)
    liked_genre = np.where(rng.random(rows) < 0.9, taste[user],
                           rng.integers(0, 6, rows))
    item = np.array([rng.choice(np.flatnonzero(genre_of_item == g))
                     for g in liked_genre])
    return pd.DataFrame({
        "user_id": user.astype(np.int64),
        "item_id": item.astype(np.int64),
        "genre": [f"g{g}" for g in genre_of_item[item]],
        "rating": (3 + (liked_genre == taste[user])
                   + rng.normal(0, 0.3, rows)).astype(np.float32),
    })


@pytest.fixture(scope="module")
def watch_log():
    frame = _watch_log()
    train, test = frame.iloc[:5_000], frame.iloc[5_000:]
    features = F.adapt([F.CategoricalFeature("user_id", embedding_dim=8),
                        F.CategoricalFeature("item_id", embedding_dim=8),
                        F.CategoricalFeature("genre", embedding_dim=4)],
                       train)
    return train, test, features


def _tasks(**kwargs):
    return [T.retrieval("item", candidate_features=["item_id", "genre"],
                        embedding_dim=8, ks=(1, 10), **kwargs),
            T.regression("rating")]


def _output(query, candidate, log_q, ids):
    """A retrieval head's output: vectors, log Q and packed ids."""
    return np.concatenate([query, candidate, np.reshape(log_q, (-1, 1)),
                           np.asarray(layout.pack_ids(np.ravel(ids)))],
                          axis=1).astype(np.float32)


def _logits(task, query, candidate, ids, log_q):
    logits, _ = task.logits(keras.ops.convert_to_tensor(
        _output(query, candidate, log_q, ids)))
    return np.asarray(logits)


def test_in_batch_logits_correct_for_sampling_and_mask_accidental_hits():
    rng = np.random.default_rng(0)
    query, candidate = rng.normal(size=(2, 4, 3))
    ids = np.array([5, 7, 5, 9])
    log_q = np.log(np.array([0.5, 0.1, 0.5, 0.2]))
    task = T.retrieval("item", candidate_features=["item_id"],
                       embedding_dim=3, temperature=0.5)
    logits = _logits(task, query, candidate, ids, log_q)
    expected = query @ candidate.T / 0.5 - log_q[None, :]
    np.testing.assert_allclose(np.diag(logits), np.diag(expected), rtol=1e-5)
    # Rows 0 and 2 share candidate 5: each is not the other's negative.
    assert logits[0, 2] < -1e8 and logits[2, 0] < -1e8
    np.testing.assert_allclose(logits[0, 1], expected[0, 1], rtol=1e-5)
    plain = T.retrieval("item", candidate_features=["item_id"],
                        embedding_dim=3, remove_accidental_hits=False,
                        sampling_correction=False)
    np.testing.assert_allclose(_logits(plain, query, candidate, ids, log_q),
                               query @ candidate.T, rtol=1e-5)


def test_loss_is_softmax_cross_entropy_of_the_diagonal():
    rng = np.random.default_rng(1)
    query, candidate = rng.normal(size=(2, 5, 3)).astype(np.float32)
    ids = np.arange(5)
    task = T.retrieval("item", candidate_features=["item_id"],
                       embedding_dim=3, sampling_correction=False)
    y_pred = _output(query, candidate, np.zeros(5), ids)
    loss = T.RetrievalSoftmax(task, reduction=None)(np.zeros((5, 1)), y_pred)
    logits = query @ candidate.T
    expected = -(np.diag(logits) - np.log(np.exp(logits).sum(axis=1)))
    np.testing.assert_allclose(np.asarray(loss), expected, rtol=1e-4)


@pytest.mark.parametrize("corrections", [
    {}, {"temperature": 0.3, "sampling_correction": False,
         "remove_accidental_hits": False}])
def test_in_batch_loss_gradient_matches_automatic_differentiation(
        corrections):
    import tensorflow as tf

    rng = np.random.default_rng(2)
    query, candidate = (tf.Variable(v) for v in
                        rng.normal(size=(2, 6, 3)).astype(np.float32))
    ids = layout.pack_ids(np.array([1, 4, 1, 2, 3, 4]))
    log_q = np.log(rng.uniform(0.05, 0.5, (6, 1))).astype(np.float32)
    weights = np.array([1, 0, 2, 1, 1, 0.5], np.float32)
    task = T.retrieval("item", candidate_features=["item_id"],
                       embedding_dim=3, **corrections)

    def by_hand():
        y_pred = tf.concat([query, candidate, log_q, ids], axis=1)
        return T.RetrievalSoftmax(task)(np.zeros((6, 1)), y_pred,
                                        sample_weight=weights)

    def automatic():
        y_pred = tf.concat([query, candidate, log_q, ids], axis=1)
        logits, _ = task.logits(y_pred)
        per_query = keras.losses.sparse_categorical_crossentropy(
            tf.range(6), logits, from_logits=True)
        return tf.reduce_sum(per_query * weights) / tf.reduce_sum(weights)

    results = []
    for loss in (by_hand, automatic):
        with tf.GradientTape() as tape:
            value = loss()
        results.append([value, *tape.gradient(value, [query, candidate])])
    for mine, reference in zip(*results):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(reference),
                                   rtol=1e-4, atol=1e-6)
    # A query of weight 0 gets no gradient; the others do.
    query_gradient = np.asarray(results[0][1])
    np.testing.assert_array_equal(query_gradient[1], 0)
    assert np.abs(query_gradient).sum() > 0


def test_catalogue_and_sampling_probabilities(watch_log):
    train, _, features = watch_log
    tasks = _tasks()
    catalogue = retrieval.catalogue(train, features, tasks)
    assert len(catalogue) == train["item_id"].nunique()
    assert catalogue.counts.sum() == len(train)
    model = models.two_tower(features, tasks)
    probabilities = retrieval.set_sampling_probabilities(model, catalogue)
    spec = next(f for f in features if f.name == "item_id")
    top = spec.vocabulary[0]  # the most frequent item
    row = spec.num_oov_buckets + 0
    share = (train["item_id"] == top).mean()
    np.testing.assert_allclose(probabilities[row], share, rtol=1e-6)
    head = model.get_layer("item")
    np.testing.assert_allclose(
        head.log_sampling_probability.numpy()[row], np.log(share),
        rtol=1e-5)


def test_evaluate_matches_ranking_by_hand(watch_log):
    train, test, features = watch_log
    tasks = _tasks()
    model = models.two_tower(features, tasks)
    catalogue = retrieval.catalogue(train, features, tasks)
    result = retrieval.evaluate(model, test, catalogue, ks=(1, 10))
    queries = retrieval.query_vectors(model, test)
    candidates = retrieval.candidate_vectors(model, catalogue)
    index = {v: i for i, v in enumerate(catalogue.frame["item_id"])}
    positive = np.array([index[v] for v in test["item_id"]])
    scores = queries @ candidates.T
    rank = (scores > scores[np.arange(len(test)), positive][:, None]).sum(1)
    for k in (1, 10):
        assert result[f"recall_at_{k}"] == pytest.approx((rank < k).mean(),
                                                         abs=1e-6)
        ndcg = np.where(rank < k, 1 / np.log2(rank + 2), 0).mean()
        assert result[f"ndcg_at_{k}"] == pytest.approx(ndcg, abs=1e-5)
    assert result["queries"] == len(test)


@pytest.mark.parametrize("architecture", ["two_tower", "mmoe",
                                          "shared_bottom"])
def test_retrieval_beside_ranking_learns_the_users_taste(watch_log,
                                                         architecture):
    train, test, features = watch_log
    tasks = _tasks()
    model = models.build(architecture, features, tasks)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    catalogue = retrieval.catalogue(train, features, tasks)
    retrieval.set_sampling_probabilities(model, catalogue)
    before = retrieval.evaluate(model, test, catalogue, ks=(10,))
    model.fit(data.from_dataframe(train, features, tasks, batch_size=128,
                                  shuffle=True, seed=0), epochs=15, verbose=0)
    after = retrieval.evaluate(model, test, catalogue, ks=(10,))
    # 60 items in 6 genres of 10: knowing the genre alone gives ~0.9 * 10/10
    # of recall@10 on top of chance (10/60).
    assert after["recall_at_10"] > 0.45, (before, after)
    assert after["recall_at_10"] > before["recall_at_10"] + 0.2


def test_keras_file_round_trip_keeps_outputs_and_probabilities(
        watch_log, tmp_path):
    train, _, features = watch_log
    tasks = _tasks(cosine=True, temperature=0.1)
    model = models.two_tower(features, tasks)
    model.compile(optimizer="adam")
    retrieval.set_sampling_probabilities(
        model, retrieval.catalogue(train, features, tasks))
    path = tmp_path / "model.keras"
    models.save_model(model, path)
    again = models.load_model(path)
    x = data.model_inputs(train.iloc[:32], features)
    for name, value in model.predict(x, verbose=0).items():
        np.testing.assert_allclose(again.predict(x, verbose=0)[name], value,
                                   atol=1e-5)
    assert again.tasks == model.tasks


def test_architectures_without_retrieval_say_which_have_it(watch_log):
    _, _, features = watch_log
    with pytest.raises(ValueError, match="two_tower"):
        models.build("ple", features, _tasks())


def test_retrieval_task_errors_name_what_to_write(watch_log):
    _, _, features = watch_log
    with pytest.raises(ValueError, match="candidate_features"):
        T.retrieval("item", candidate_features=[])
    with pytest.raises(ValueError, match="not among the model's features"):
        models.two_tower(features, [T.retrieval(
            "item", candidate_features=["item"])])
    with pytest.raises(ValueError, match="single-valued categorical"):
        models.two_tower(
            F.adapt([F.NumericFeature("price"), F.CategoricalFeature("u")],
                    pd.DataFrame({"price": [1.0, 2.0], "u": ["a", "b"]})),
            [T.retrieval("item", candidate_features=["price"])])
    assert "retrieval" in T.KINDS


def test_saved_model_answers_top_k_for_known_and_unseen_users_without_mtzoo(
        watch_log, tmp_path):
    train, test, features = watch_log
    tasks = _tasks()
    model = models.two_tower(features, tasks)
    model.compile(optimizer="adam")
    catalogue = retrieval.catalogue(train, features, tasks)
    model.fit(data.from_dataframe(train, features, tasks, batch_size=256),
              epochs=1, verbose=0)
    version = mtzoo.export.export_saved_model(
        model, tmp_path, model_name="items", catalogues={"item": catalogue},
        top_k=20, warmup_inputs=data.feature_arrays(test.iloc[:4], features))
    assert mtzoo.export.verify(version)["ok"]
    expected = retrieval.query_vectors(model, test.iloc[:1]) @ \
        retrieval.candidate_vectors(model, catalogue).T
    best = catalogue.frame["item_id"].to_numpy()[np.argsort(-expected[0])[:5]]
    user = int(test["user_id"].iloc[0])
    # `verify` loaded it in a fresh process without mtzoo; the retrieval
    # signatures are called here.
    import tensorflow as tf

    loaded = tf.saved_model.load(str(version))
    top_k = loaded.signatures["top_k"]
    ids = top_k(user_id=tf.constant([user, 10**9], tf.int64))["ids"]
    query = loaded.signatures["query_embedding"](
        user_id=tf.constant([user], tf.int64))["embedding"]
    item = loaded.signatures["candidate_embedding"](
        item_id=tf.constant([3], tf.int64), genre=tf.constant(["g3"]))
    excluding = loaded.signatures["top_k_excluding"](
        user_id=tf.constant([user], tf.int64),
        exclude=tf.stack([ids[0, :3], tf.constant([-7, -7, -7], tf.int64)])[:1])
    excluding = excluding["ids"][0].numpy().tolist()
    assert {"top_k", "query_embedding", "candidate_embedding",
            "serving_default"} <= set(loaded.signatures)
    known, unseen = ids.numpy().tolist()
    assert len(known) == 20 and len(unseen) == 20
    assert set(known) <= set(catalogue.frame["item_id"])
    assert known[:5] == best.tolist()
    assert query.shape.as_list() == [1, 8]
    assert item["embedding"].shape.as_list() == [1, 8]
    # The three best, excluded, leave the next ones first.
    assert excluding[:17] == known[3:20]
    assert not set(known[:3]) & set(excluding)


@pytest.mark.parametrize("weighting", ["uncertainty", "dwa", "gradnorm",
                                       "pcgrad"])
def test_every_weighting_strategy_trains_retrieval_beside_rating(
        watch_log, weighting):
    train, test, features = watch_log
    tasks = _tasks()
    model = models.two_tower(features, tasks)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), weighting=weighting)
    catalogue = retrieval.catalogue(train, features, tasks)
    retrieval.set_sampling_probabilities(model, catalogue)
    history = model.fit(data.from_dataframe(
        train, features, tasks, batch_size=128, shuffle=True, seed=0),
        epochs=3, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    assert {"item_weight", "rating_weight"} <= set(history)
    # Chance is 10 of 60 items; measured 0.45-0.91 over the strategies.
    assert retrieval.evaluate(model, test, catalogue,
                              ks=(10,))["recall_at_10"] > 0.3


def test_item_softmax_head_scores_every_row_or_a_corrected_sample():
    from mtzoo.retrieval import ItemSoftmaxHead

    rows, dim = 7, 2
    table = np.zeros((rows, dim + 1), np.float32)
    table[:, 0] = np.arange(rows)  # row i scores i against query [1, 0]
    table[:, 2] = 0.5  # every item's bias
    query = np.array([[1.0, 0.0], [2.0, 0.0]], np.float32)
    ids = np.array([3, 5])
    full = ItemSoftmaxHead(rows, dim, temperature=2.0)
    full.build()
    full.item_vectors.assign(table)
    out = np.asarray(full([query, ids]))
    expected = (query[:, :1] * np.arange(rows) + 0.5) / 2.0
    np.testing.assert_allclose(out[:, :-2], expected, rtol=1e-6)
    np.testing.assert_array_equal(layout.unpack_ids(out[:, -2:]), ids)

    sampled = ItemSoftmaxHead(rows, dim, num_sampled=50, seed=1)
    sampled.build()
    sampled.item_vectors.assign(table)
    probabilities = np.array([0, 0.1, 0.2, 0.3, 0.1, 0.3, 0], np.float64)
    sampled.set_sampling_probabilities(probabilities)
    out = np.asarray(sampled([query, ids]))
    assert out.shape == (2, 51)
    log_q = np.log(np.maximum(probabilities, 1e-9))
    scores = query[:, :1] * np.arange(rows) + 0.5  # (2, rows)
    corrected = scores - np.log(50) - log_q
    np.testing.assert_allclose(out[:, 0],
                               corrected[[0, 1], ids], rtol=1e-5)
    seen = set()
    for row in range(2):
        for value in out[row, 1:]:
            if value < -1e8:  # an accidental hit: the positive itself
                seen.add(ids[row])
                continue
            match = np.flatnonzero(np.isclose(corrected[row], value,
                                              rtol=1e-5))
            assert len(match) == 1 and match[0] != ids[row]
            seen.add(int(match[0]))
    # Rows of probability 0 are never drawn.
    assert seen <= {1, 2, 3, 4, 5} and len(seen) >= 4


@pytest.mark.parametrize("num_sampled", [None, 15])
def test_next_item_softmax_learns_the_users_taste_and_serves_top_k(
        watch_log, tmp_path, num_sampled):
    train, test, features = watch_log
    tasks = [T.next_item("item", "item_id", num_sampled=num_sampled,
                         query_features=["user_id"], embedding_dim=8,
                         ks=(10,)),
             T.regression("rating")]
    assert tasks[0].negatives == ("sampled" if num_sampled else "all")
    model = models.shared_bottom(features, tasks)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    catalogue = retrieval.catalogue(train, features, tasks)
    retrieval.set_sampling_probabilities(model, catalogue)
    model.fit(data.from_dataframe(train, features, tasks, batch_size=128,
                                  shuffle=True, seed=0), epochs=10, verbose=0)
    after = retrieval.evaluate(model, test, catalogue)
    assert after["recall_at_10"] > 0.45, after
    path = tmp_path / "model.keras"
    models.save_model(model, path)
    again = models.load_model(path)
    np.testing.assert_allclose(
        retrieval.candidate_vectors(again, catalogue),
        retrieval.candidate_vectors(model, catalogue))
    version = mtzoo.export.export_saved_model(
        model, tmp_path / "export", model_name="items",
        catalogues={"item": catalogue}, top_k=10)
    import tensorflow as tf

    loaded = tf.saved_model.load(str(version))
    user = test["user_id"].iloc[:1].to_numpy()
    served = loaded.signatures["top_k"](user_id=tf.constant(user))["ids"]
    scores = retrieval.query_vectors(model, test.iloc[:1]) @ \
        retrieval.candidate_vectors(model, catalogue).T
    best = catalogue.frame["item_id"].to_numpy()[np.argsort(-scores[0])[:5]]
    assert served.numpy()[0, :5].tolist() == best.tolist()


def test_item_softmax_takes_the_id_alone():
    with pytest.raises(ValueError, match="candidate is its id alone"):
        T.retrieval("item", ["item_id", "genre"], negatives="sampled")
    with pytest.raises(ValueError, match="cosine"):
        T.next_item("item", "item_id", cosine=True)


def test_ids_beyond_float32_precision_come_back_exactly():
    # 2**24 + 1 is the first integer float32 cannot hold.
    ids = np.array([0, 1, 2 ** 24 + 1, 2 ** 31 - 1, 123_456_789])
    packed = np.asarray(layout.pack_ids(ids))
    assert packed.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(layout.unpack_ids(packed)), ids)
    task = T.retrieval("item", candidate_features=["item_id"],
                       embedding_dim=1, sampling_correction=False)
    # Two rows of distinct ids 2**24 and 2**24 + 1 are not accidental hits
    # of each other (in one float32 column they were the same id).
    logits = _logits(task, np.ones((2, 1)), np.ones((2, 1)),
                     np.array([2 ** 24, 2 ** 24 + 1]), np.zeros(2))
    assert (logits > -1e8).all()


def test_retrieval_task_with_a_missing_label_value():
    frame = pd.DataFrame({"item_id": ["a", "none", None, "b"]})
    task = T.retrieval("item", candidate_features=["item_id"],
                       missing_label="none")
    labels, weights = mtzoo.data.label_arrays(frame, [task])
    assert weights["item"].tolist() == [1, 0, 0, 1]
    T.require_some_label(frame, [task])
    with pytest.raises(F.DataError, match="'item' has no label"):
        T.require_some_label(frame.iloc[1:3], [task])


def test_popularity_baseline_ranks_items_by_their_training_count():
    train = pd.DataFrame({"item_id": ["a", "a", "a", "b", "b", "c"],
                          "user": ["u"] * 6})
    features = F.adapt([F.CategoricalFeature("item_id"),
                        F.CategoricalFeature("user")], train)
    tasks = [T.retrieval("item", candidate_features=["item_id"], ks=(1, 2))]
    catalogue = retrieval.catalogue(train, features, tasks)
    test = pd.DataFrame({"item_id": ["a", "b", "c", "unseen", None]})
    scores = retrieval.popularity(test, catalogue)
    assert scores["examples"] == 4
    assert scores["recall_at_1"] == pytest.approx(1 / 4)  # a is first
    assert scores["recall_at_2"] == pytest.approx(2 / 4)  # then b
    assert scores["ndcg_at_2"] == pytest.approx((1 + 1 / np.log2(3)) / 4)
