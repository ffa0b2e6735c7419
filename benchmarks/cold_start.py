"""Items no one has interacted with yet: retrieval through their text.

Amazon Musical Instruments reviews (5-core), split by time (the latest 20%
of reviews are the test), and a share of the items (`--held-out`, chosen
at random per seed) held out of training entirely: their reviews leave the
training rows and the users' histories, so neither their id nor any
history position ever trains their vectors. Test rows whose item training
never saw are the cold rows; the others are warm.

An item's text is its reviews from the training period, joined (the
5-core file has no product descriptions; for held-out items these are
reviews whose interactions training never sees, and no test review is in
any item's text). Two towers; the query tower reads the user and the
user's 20 previous products (`exclude_seen`, so they are not recommended
again). Candidate towers compared:

- `id only`: the item id; an item unseen in training reads the shared
  unknown-id row, so all cold items get one vector;
- `id + text`: the item id with `id_dropout=0.5` (so the text path learns
  to stand alone) and the item text as a trained bag of words;
- `popularity`: every query gets the items by training count.

Recall at 10, 50 and 100 over the whole catalogue (every item of the
data), on cold and warm test rows, and recall at 10 of cold rows among the
cold items alone (does the text say which new item a user picks?);
`random` is what a uniform ranking gets.

Writes `benchmarks/results/cold_start.json` and `cold_start.md`.

    python benchmarks/cold_start.py [--seeds 3] [--held-out 0.1]
"""

from __future__ import annotations

import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

HISTORY = 20
KS = (10, 50, 100)
MODELS = ("id only", "id + text")


def split(data_dir, held_out: float, seed: int):
    """`(train, validation, test, cold)`: rows with histories and item
    text, the held-out items gone from training, and which test rows are
    cold."""
    import numpy as np

    from mtzoo import data as data_lib

    bundle = data_lib.amazon_reviews(data_dir, text_encoder="none",
                                     history=HISTORY)
    train, test = bundle.train, bundle.test
    items = np.sort(np.union1d(train["item"], test["item"]))
    rng = np.random.default_rng(seed)
    hidden = set(rng.choice(items, int(round(held_out * len(items))),
                            replace=False))
    text = train.groupby("item")["review"].agg(" | ".join)

    def prepared(frame):
        frame = frame.assign(item_text=frame["item"].map(text).fillna(""))
        kept = [[i not in hidden for i in h] for h in frame["history"]]
        for column in ("history", "rating_history"):
            frame[column] = [[v for v, keep in zip(values, keeps) if keep]
                             for values, keeps in zip(frame[column], kept)]
        return frame

    train = prepared(train[~train["item"].isin(hidden)])
    test = prepared(test)
    cut = int(len(train) * 0.9)
    cold = ~test["item"].isin(set(train["item"])).to_numpy()
    return (train.iloc[:cut].reset_index(drop=True),
            train.iloc[cut:].reset_index(drop=True), test, cold)


def specs(train, with_text: bool):
    from mtzoo import data as data_lib
    from mtzoo import features as features_lib
    from mtzoo import tasks as tasks_lib

    item = features_lib.CategoricalFeature(
        "item", embedding_dim=16, id_dropout=0.5 if with_text else 0.0)
    features = [features_lib.CategoricalFeature("user", embedding_dim=16),
                item, *data_lib.histories.history_specs(
                    "item", length=HISTORY, value="rating")]
    candidate = ["item"]
    if with_text:
        features.append(features_lib.TextFeature(
            "item_text", max_length=256, embedding_dim=16))
        candidate.append("item_text")
    task = tasks_lib.retrieval(
        "product", candidate_features=candidate,
        query_features=["user", "history", "rating_history"],
        exclude_seen="history", ks=KS)
    return features_lib.adapt(features, train), [task]


def train_and_score(train, validation, test, cold, with_text: bool,
                    seed: int) -> dict:
    import keras
    import pandas as pd

    import mtzoo

    keras.utils.set_random_seed(seed)
    features, tasks = specs(train, with_text)
    model = mtzoo.models.build("two_tower", features, tasks)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    seen = mtzoo.retrieval.catalogue(train, features, tasks)
    mtzoo.retrieval.set_sampling_probabilities(model, seen)
    model.fit(mtzoo.data.from_dataframe(train, features, tasks,
                                        batch_size=256, shuffle=True,
                                        seed=seed),
              validation_data=mtzoo.data.from_dataframe(
                  validation, features, tasks, batch_size=1024),
              epochs=40, verbose=0, callbacks=[keras.callbacks.EarlyStopping(
                  patience=3, restore_best_weights=True)])
    everything = mtzoo.retrieval.catalogue(
        pd.concat([train, validation, test]), features, tasks)
    new_items = mtzoo.retrieval.catalogue(test[cold], features, tasks)
    return {"cold": _recall(mtzoo.retrieval.evaluate(
                model, test[cold], everything)),
            "cold_among_cold": mtzoo.retrieval.evaluate(
                model, test[cold], new_items, ks=(10,))["recall_at_10"],
            "new_items": len(new_items),
            "warm": _recall(mtzoo.retrieval.evaluate(
                model, test[~cold], everything)),
            "catalogue": len(everything)}


def popularity(train, validation, test, cold) -> dict:
    import numpy as np
    import pandas as pd

    import mtzoo

    features, tasks = specs(train, with_text=False)
    everything = mtzoo.retrieval.catalogue(
        pd.concat([train, validation, test]), features, tasks)
    counts = pd.concat([train, validation])["item"].value_counts()
    by_training = mtzoo.retrieval.Catalogue(
        everything.task, everything.frame, everything.frame["item"].map(
            counts).fillna(0).to_numpy(np.int64))
    return {"cold": _recall(mtzoo.retrieval.popularity(
                test[cold], by_training, ks=KS)),
            "cold_among_cold": None,
            "new_items": int(test[cold]["item"].nunique()),
            "warm": _recall(mtzoo.retrieval.popularity(
                test[~cold], by_training, ks=KS)),
            "catalogue": len(everything)}


def _recall(result: dict) -> dict:
    return {f"recall_at_{k}": result[f"recall_at_{k}"] for k in KS}


def summarize(runs: list[dict]) -> dict:
    summary = {}
    for label in (*MODELS, "popularity"):
        mine = [r for r in runs if r["model"] == label]
        summary[label] = {
            rows: {metric: statistics.mean(r[rows][metric] for r in mine)
                   for metric in mine[0][rows]}
            for rows in ("cold", "warm")}
        among = [r["cold_among_cold"] for r in mine
                 if r["cold_among_cold"] is not None]
        summary[label]["cold_among_cold"] = (statistics.mean(among)
                                             if among else None)
        summary[label]["seeds"] = len(mine)
    catalogue = runs[0]["catalogue"]
    summary["random"] = {rows: {f"recall_at_{k}": k / catalogue for k in KS}
                         for rows in ("cold", "warm")}
    summary["random"]["cold_among_cold"] = statistics.mean(
        min(1.0, 10 / r["new_items"]) for r in runs)
    summary["cold_rows"] = statistics.mean(r["cold_rows"] for r in runs)
    summary["catalogue"] = catalogue
    return summary


def markdown_table(summary: dict) -> str:
    lines = [f"Cold test rows: {summary['cold_rows']:.0f} on average; "
             f"catalogue: {summary['catalogue']} items.", "",
             "| candidates | cold recall@10 | cold recall@50 | "
             "cold recall@100 | warm recall@100 | cold recall@10 among "
             "cold items |", "|---|---|---|---|---|---|"]
    for label in (*MODELS, "popularity", "random"):
        cold, warm = summary[label]["cold"], summary[label]["warm"]
        among = summary[label]["cold_among_cold"]
        lines.append(f"| {label} | {cold['recall_at_10']:.4f} | "
                     f"{cold['recall_at_50']:.4f} | "
                     f"{cold['recall_at_100']:.4f} | "
                     f"{warm['recall_at_100']:.4f} | "
                     f"{'' if among is None else f'{among:.4f}'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = common.parser(__doc__, "cold_start.json",
                           data="amazon-musical-instruments", seeds=3)
    parser.add_argument("--held-out", type=float, default=0.1)
    args = parser.parse_args()
    runs = []
    for seed in range(args.seeds):
        train, validation, test, cold = split(args.data_dir, args.held_out,
                                              seed)
        base = {"seed": seed, "cold_rows": int(cold.sum())}
        runs.append({**base, "model": "popularity",
                     **popularity(train, validation, test, cold)})
        for label in MODELS:
            runs.append({**base, "model": label, **train_and_score(
                train, validation, test, cold, label != "id only", seed)})
            print(runs[-1])
    common.write_runs(args.output, "cold_start", runs, summarize,
                      markdown_table)


if __name__ == "__main__":
    main()
