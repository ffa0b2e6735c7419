"""TensorFlow Recommenders' multitask MovieLens model (runs in its venv).

The model of TFRS's multitask tutorial: user and movie embeddings of 32,
a rating MLP (256, 64, 1) over both, a `tfrs.tasks.Ranking` (MSE) and a
`tfrs.tasks.Retrieval` (in-batch softmax), the loss
`rating_weight * rating + retrieval_weight * retrieval`, Adagrad 0.1.
Trained on the split `movielens.py` prepared; hit rate at k is computed
by brute force over every movie, the same way for every library.

    TF_USE_LEGACY_KERAS=1 python tfrs_movielens.py DATA SEED RATING_WEIGHT \\
        RETRIEVAL_WEIGHT OUTPUT
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_recommenders as tfrs  # noqa: E402

import movielens_measure as measure  # noqa: E402


class MovielensModel(tfrs.models.Model):
    def __init__(self, users, movies, candidates, rating_weight,
                 retrieval_weight):
        super().__init__()
        dim = 32
        self.user_model = tf.keras.Sequential([
            tf.keras.layers.StringLookup(vocabulary=users),
            tf.keras.layers.Embedding(len(users) + 1, dim)])
        self.movie_model = tf.keras.Sequential([
            tf.keras.layers.StringLookup(vocabulary=movies),
            tf.keras.layers.Embedding(len(movies) + 1, dim)])
        self.rating_model = tf.keras.Sequential([
            tf.keras.layers.Dense(256, activation="relu"),
            tf.keras.layers.Dense(64, activation="relu"),
            tf.keras.layers.Dense(1)])
        self.rating_task = tfrs.tasks.Ranking(
            loss=tf.keras.losses.MeanSquaredError(),
            metrics=[tf.keras.metrics.RootMeanSquaredError()])
        self.retrieval_task = tfrs.tasks.Retrieval(
            metrics=tfrs.metrics.FactorizedTopK(
                candidates=candidates.batch(128).map(self.movie_model)))
        self.rating_weight = rating_weight
        self.retrieval_weight = retrieval_weight

    def call(self, features):
        users = self.user_model(features["user_id"])
        movies = self.movie_model(features["movie_id"])
        return users, movies, self.rating_model(
            tf.concat([users, movies], axis=1))

    def compute_loss(self, features, training=False):
        ratings = features.pop("rating")
        users, movies, predicted = self(features)
        rating_loss = self.rating_task(labels=ratings, predictions=predicted)
        # The top-k metric scores every movie: computed once at the end,
        # not during training (as the tutorial's `compute_metrics=False`).
        retrieval_loss = self.retrieval_task(users, movies,
                                             compute_metrics=not training)
        return (self.rating_weight * rating_loss
                + self.retrieval_weight * retrieval_loss)


def main(data_dir, seed, rating_weight, retrieval_weight, output):
    import tf_keras

    seed = int(seed)
    tf.random.set_seed(seed)
    np.random.seed(seed)
    split = measure.load(data_dir)
    train, test = split["train"], split["test"]
    users = np.unique(train["user_id"])
    movies = split["movies"]
    model = MovielensModel(users, movies,
                           tf.data.Dataset.from_tensor_slices(movies),
                           float(rating_weight), float(retrieval_weight))
    model.compile(optimizer=tf_keras.optimizers.Adagrad(0.1))
    rows = tf.data.Dataset.from_tensor_slices(
        {"user_id": train["user_id"], "movie_id": train["movie_id"],
         "rating": train["rating"]}).shuffle(
             len(train["rating"]), seed=seed,
             reshuffle_each_iteration=False)
    seconds = []

    class Timer(tf_keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    model.fit(rows.batch(measure.BATCH_SIZE).cache(), epochs=measure.EPOCHS,
              callbacks=[Timer()], verbose=0)
    queries = model.user_model(tf.constant(test["user_id"])).numpy()
    candidates = model.movie_model(tf.constant(movies)).numpy()
    predicted = model.rating_model(tf.concat([
        model.user_model(tf.constant(test["user_id"])),
        model.movie_model(tf.constant(test["movie_id"]))], axis=1)).numpy()
    positives = np.searchsorted(movies, test["movie_id"])
    result = {
        "library": f"TensorFlow Recommenders {tfrs.__version__} (tf_keras "
                   f"{tf_keras.__version__}, TensorFlow {tf.__version__})",
        "seed": seed,
        "train_examples_per_s": measure.epochs_rate(len(train["rating"]),
                                                    seconds),
        "rating_rmse": measure.rmse(test["rating"], predicted),
        **measure.hit_rates(queries, candidates, positives),
    }
    with open(output, "w") as handle:
        json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main(*sys.argv[1:6])
