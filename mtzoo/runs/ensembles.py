"""What a run's trained models add up to: per task, a weighted mean of the
network, the baselines and a search's other trials, chosen on the
validation split (ensemble selection, Caruana, Niculescu-Mizil, Crew and
Ksikes, "Ensemble selection from libraries of models", ICML 2004).

The gradient-boosting, linear and constant baselines a run fits on its
rows join as three models (`mtzoo.baselines.boosted_model`,
`linear_model`, `constant_model`), so a task that a baseline predicts
better than the network can take it (the constant only alone: a task the
rows do not predict); every trial of `--tune` trains one more model on
the same rows, of which the search keeps one.
Ensemble selection starts, per task, from the model that scores best on
the validation split and adds models one at a time, with replacement,
while the mean of their predictions raises the task's selection score (its
primary metric; log loss for a multiclass task);
the weights are how often each model was added. Tasks choose apart, so a
task that a trial the search did not keep serves better takes its
predictions from that trial. The result is one Keras model (the members
side by side on the same encoded inputs, `mtzoo.layers.WeightedMean` per
task) that saves, loads with `safe_mode=True` and exports like any other.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mtzoo import data as data_lib
from mtzoo import tasks as tasks_lib
from mtzoo.data import shards

#: Models added per task at most (after the first).
ROUNDS = 20
#: Gain in a task's validation metric below which a model is not added:
#: chance differences on a small validation split are not followed.
MIN_GAIN = 1e-4
#: Bagged selection (rows split by time) from a library of at least
#: `MIN_BAGGED` models that may be mixed: `BAGS` bags, each of a random
#: `BAG_SHARE` of them (the values Caruana et al., ICDM 2006, used).
MIN_BAGGED = 6
BAGS = 20
BAG_SHARE = 0.5


@dataclasses.dataclass
class Member:
    """A trained model that may join: its name in reports (`final`,
    `trial_<n>`) and what it was trained with. A member `alone` is taken
    only by itself, never mixed with others (the constant)."""

    name: str
    model: object
    settings: dict
    alone: bool = False


def select(predictions: list[dict], labels: dict, weights: dict, tasks,
           rounds: int = ROUNDS, alone=(), by_time: bool = False,
           seed: int = 0) -> tuple[dict, dict]:
    """`(chosen, scores)`: per task, the weight of each of `predictions`
    (one dict of task outputs per model, on the validation rows) in its
    ensemble, and the validation metric of the best single model and of
    the ensemble (over all the rows by the primary metric, and in the
    worse half by the selection score), and the number of bags it was
    selected in (0: one forward selection).

    Forward selection with replacement, judged by the task's selection
    score (`Task.selection_score`: its primary metric, log loss for a
    multiclass task) in the worse of the two halves of the rows (in their
    order: earlier and later rows when the split is by time, two random
    halves otherwise), so that a model is followed only where it holds up
    in both: on a table split by time, a model that degrades away from
    the training period (trees beyond the range of their training values)
    shows it in the later half. The ensemble kept is the best by that
    score along the way, so it never scores below the best single model
    by it (bagged selection, below, may).

    When the rows are split `by_time` (the test rows come after these),
    a library of `MIN_BAGGED` models or more that score above those taken
    alone (a search's trials beside the baselines) is selected from in
    `BAGS` bags of a random half of those models each, and the bags'
    weights averaged (bagged ensemble selection: Caruana, Munson and
    Niculescu-Mizil, "Getting the most out of ensemble selection", ICDM
    2006). Beyond the validation period, which single model validates
    best is the least reliable guide, and a mix of the bags' winners
    hedges it (a weather table: wind speed's test skill 0.107 from the
    one tree model validation preferred, 0.175 from the bags' mix); on a
    random split the validation rows are a sample of the test rows' kind,
    and one forward selection keeps the best model's full weight. `seed`
    draws the bags.

    The members whose indices are in `alone` are taken only by themselves,
    when they score best: the constant takes a task no model predicts
    better than the training mean, but mixed in it shrinks the others
    toward the training period's mean, which a drifting table punishes
    (a weather table split by time: one task's test skill 0.18 alone
    against -0.30 with the constant mixed in)."""
    rng = np.random.default_rng(seed)
    chosen, scores = {}, {}
    for task in tasks:
        rows = weights[task.name] > 0
        if not rows.any():
            chosen[task.name] = _one_hot(0, len(predictions))
            continue
        outputs = [np.asarray(p[task.name], np.float64)[rows]
                   for p in predictions]
        y, w = labels[task.name][rows], weights[task.name][rows]
        halves = np.arange(len(y)) < len(y) // 2

        def metric(output, part, scorer=task.primary_score):
            value = scorer(y[part], output[part], w[part])
            return -np.inf if value is None or np.isnan(value) else value

        def score(output):
            # The worse of the two halves of the rows (earlier and later
            # ones when the split is by time).
            return min(metric(output, halves, task.selection_score),
                       metric(output, ~halves, task.selection_score))

        singles = [score(output) for output in outputs]
        mixable = [i for i in range(len(outputs)) if i not in alone]
        # The best of the members taken alone (the constant).
        lone = max(alone, key=lambda i: singles[i], default=None)
        # Bags hold only models that score above it: a bag of worse
        # models would mix them in.
        floor = -np.inf if lone is None else singles[lone]
        bagged = [i for i in mixable if singles[i] > floor]
        in_bags = by_time and len(bagged) >= MIN_BAGGED
        if in_bags:
            share = _bagged(outputs, singles, bagged, score, rounds, rng)
        else:
            share = _forward(outputs, singles, mixable, score, rounds)
        mixed = sum(s * o for s, o in zip(share, outputs) if s > 0)
        best = score(mixed)
        # A member taken alone replaces the mix where it scores higher.
        if lone is not None and singles[lone] > best:
            share, mixed, best = (_one_hot(lone, len(outputs)),
                                  outputs[lone], singles[lone])
        first = int(np.argmax(singles))
        whole = np.ones(len(y), bool)
        chosen[task.name] = list(share)
        scores[task.name] = {
            "best_single": metric(outputs[first], whole),
            "ensemble": metric(mixed, whole),
            "worse_half": {"best_single": singles[first], "ensemble": best,
                           "metric": task.selected_by},
            "bags": BAGS if in_bags else 0}
    return chosen, scores


def _forward(outputs, singles, candidates, score, rounds) -> np.ndarray:
    """Forward selection with replacement among `candidates` (indices of
    `outputs`): each model's share of the best mix along the way."""
    first = max(candidates, key=lambda i: singles[i])
    counts = np.zeros(len(outputs))
    counts[first] = 1
    total, best = outputs[first].copy(), singles[first]
    best_counts = counts.copy()
    for _ in range(rounds):
        size = counts.sum() + 1
        trial_scores = {i: score((total + outputs[i]) / size)
                        for i in candidates}
        pick = max(trial_scores, key=trial_scores.get)
        counts[pick] += 1
        total += outputs[pick]
        if trial_scores[pick] > best + MIN_GAIN:
            best, best_counts = trial_scores[pick], counts.copy()
    return best_counts / best_counts.sum()


def _bagged(outputs, singles, candidates, score, rounds, rng) -> np.ndarray:
    """The mean of `BAGS` forward selections, each among a random half of
    `candidates`."""
    share = np.zeros(len(outputs))
    for _ in range(BAGS):
        bag = [i for i in candidates if rng.random() < BAG_SHARE]
        if not bag:
            bag = [candidates[int(rng.integers(len(candidates)))]]
        share += _forward(outputs, singles, bag, score, rounds)
    return share / BAGS


def _side_by_side(members: list[Member], features) -> tuple:
    """`(inputs, outputs)`: shared encoded inputs and each member's task
    outputs called on them."""
    from mtzoo.models import blocks

    inputs = blocks.feature_inputs(features)
    outputs = []
    for member in members:
        # Layer names are unique in a model; architectures name their
        # models after themselves.
        member.model.name = member.name
        outputs.append(member.model(inputs))
    return inputs, outputs


def _predict_each(members: list[Member], frame, features, tasks,
                  batch_size: int) -> list[dict]:
    """Every member's task outputs on `frame`, from one model holding them
    all (one pass over the rows, encoded once, and one traced function
    rather than one per member)."""
    import keras

    from mtzoo.runs import steps

    inputs, outputs = _side_by_side(members, features)
    library = keras.Model(inputs, {
        f"{i}.{task.name}": called[task.name]
        for i, called in enumerate(outputs) for task in tasks})
    flat = steps.predict(library, frame, features, batch_size)
    return [{task.name: flat[f"{i}.{task.name}"] for task in tasks}
            for i in range(len(members))]


def _one_hot(index: int, size: int) -> list[float]:
    return [1.0 if i == index else 0.0 for i in range(size)]


def combine(members: list[Member], chosen: dict, features, tasks):
    """One `MultiTaskModel`: each task's output the `chosen` weighted mean
    of the members' outputs for it (members of weight 0 left out)."""
    from mtzoo.layers import WeightedMean
    from mtzoo.models.multitask_model import MultiTaskModel

    used = sorted({i for weights in chosen.values()
                   for i, w in enumerate(weights) if w > 0})
    inputs, called = _side_by_side([members[i] for i in used], features)
    called = dict(zip(used, called))
    outputs = {}
    for task in tasks:
        weights = chosen[task.name]
        parts = [(weights[i], called[i][task.name]) for i in used
                 if weights[i] > 0]
        outputs[task.name] = WeightedMean(
            [w for w, _ in parts], name=task.name)(
                [value for _, value in parts])
    return MultiTaskModel(inputs=inputs, outputs=outputs, tasks=tasks,
                          features=features, name="ensemble")


def joinable(member: Member, final: Member) -> bool:
    """Whether `member` reads the same encoded inputs as `final` (the same
    numeric encoding) and predicts exactly the tasks."""
    same_inputs = (member.settings.get("piecewise_linear_bins") or 0) == (
        final.settings.get("piecewise_linear_bins") or 0)
    return same_inputs and sorted(member.model.output_names) == sorted(
        final.model.output_names)


def combinable(model, tasks) -> bool:
    """Whether `model`'s predictions can be combined with others': ranking
    tasks only (retrieval scores a catalogue), one output per task."""
    return not tasks_lib.retrieval_tasks(tasks) and sorted(
        model.output_names) == sorted(t.name for t in tasks)


def baseline_members(splits, seed: int, bins: int | None,
                     fitted: tuple | None = None) -> list[Member]:
    """The run's gradient-boosting, linear and constant baselines of every
    ranking task as members (`mtzoo.baselines.boosted_model`,
    `linear_model`, `constant_model`);
    none when a task has no baselines (no labelled training rows).
    `fitted`: the baselines the run already fitted on these splits
    (`(design, fits)`, as `mtzoo.baselines.fitted` gives them), fitted
    here when None."""
    from mtzoo import baselines

    design, fits = fitted or baselines.fitted(splits, seed=seed)
    if sorted(fits) != sorted(t.name for t in splits.tasks):
        return []
    members = []
    for name, build in (("gradient_boosting", baselines.boosted_model),
                        ("linear", baselines.linear_model),
                        ("constant", baselines.constant_model)):
        chosen = {task: fit[name] for task, fit in fits.items()}
        members.append(Member(name, build(
            design, chosen, splits.features, splits.tasks, name=name),
            {"model": f"{name.replace('_', ' ')} baseline",
             "piecewise_linear_bins": bins}, alone=name == "constant"))
    return members


def ensemble(final: Member, others: list[Member], splits, *,
             batch_size: int = 4096, seed: int = 0):
    """`(model, record)`: the ensemble of `final` and those of `others`
    that can join it, chosen on `splits.validation`, or `final`'s model
    itself (and a record saying so) when no task gains or the tasks are
    not all ranking tasks. `record` states the members, their settings,
    each task's weights and validation scores."""
    from mtzoo.runs import steps

    if not combinable(final.model, splits.tasks):
        return final.model, None
    members = [final] + [m for m in others if joinable(m, final)]
    frame = shards.in_memory(splits.validation, steps.SAMPLE_ROWS)
    labels, weights = data_lib.label_arrays(frame, splits.tasks)
    predictions = _predict_each(members, frame, splits.features,
                                splits.tasks, batch_size)
    chosen, scores = select(predictions, labels, weights, splits.tasks,
                            alone={i for i, m in enumerate(members)
                                   if m.alone},
                            by_time=splits.ordered, seed=seed)
    record = {
        "validation": scores,
        "members": {m.name: m.settings for i, m in enumerate(members)
                    if any(w[i] > 0 for w in chosen.values())},
        "weights": {task: {members[i].name: round(w, 4)
                           for i, w in enumerate(weights_) if w > 0}
                    for task, weights_ in chosen.items()},
        "candidates": len(members)}
    if all(w[0] == 1.0 for w in chosen.values()):
        return final.model, {**record, "used": False}
    model = combine(members, chosen, splits.features, splits.tasks)
    return model, {**record, "used": True}
