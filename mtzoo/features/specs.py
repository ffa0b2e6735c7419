"""Lists of feature specs: serialization, validation, `adapt`."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Iterable, Sequence

import pandas as pd

from mtzoo.features.base import DataError
from mtzoo.features.base import FeatureSpec
from mtzoo.features.categorical import CategoricalFeature
from mtzoo.features.multi_categorical import MultiCategoricalFeature
from mtzoo.features.numeric import NumericFeature
from mtzoo.features.sequence import SequenceFeature
from mtzoo.features.text import TextFeature
from mtzoo.features.vector import VectorFeature

SPEC_CLASSES = {
    cls.__name__: cls
    for cls in (
        CategoricalFeature,
        MultiCategoricalFeature,
        NumericFeature,
        SequenceFeature,
        TextFeature,
        VectorFeature,
    )
}


#: The feature kinds a table config names, and their spec classes.
KINDS = {
    "categorical": CategoricalFeature,
    "numeric": NumericFeature,
    "text": TextFeature,
    "multi_categorical": MultiCategoricalFeature,
    "sequence": SequenceFeature,
}


def check_kind(kind: str, where: str) -> None:
    """Raises ValueError unless `kind` names a feature kind of `KINDS`."""
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {tuple(KINDS)}. "
                         f"Received: {kind!r}")


def create(kind: str, name: str, **options) -> FeatureSpec:
    """A feature spec of kind `kind` (a name of `KINDS`)."""
    check_kind(kind, f"Feature '{name}'")
    return KINDS[kind](name, **options)


def serialize(spec: FeatureSpec) -> dict[str, Any]:
    """Feature spec as a JSON-compatible dict."""
    return {"class_name": type(spec).__name__, "config": spec.get_config()}


def deserialize(config: dict[str, Any] | FeatureSpec) -> FeatureSpec:
    """Feature spec from `serialize` output (specs pass through)."""
    if isinstance(config, FeatureSpec):
        return config
    class_name = config.get("class_name")
    if class_name not in SPEC_CLASSES:
        raise ValueError(
            f"Unknown feature spec class {class_name!r}; expected one of "
            f"{sorted(SPEC_CLASSES)}"
        )
    return SPEC_CLASSES[class_name].from_config(config["config"])


def validate(features: Sequence[FeatureSpec]) -> list[FeatureSpec]:
    """Checks a list of specs: unique names, consistent shared tables."""
    features = [deserialize(f) for f in features]
    if not features:
        raise ValueError("At least one feature spec is needed.")
    seen = set()
    for spec in features:
        if not isinstance(spec, FeatureSpec):
            raise TypeError(
                f"Expected feature specs from mtzoo.features. Received: "
                f"{spec!r}"
            )
        if spec.name in seen:
            raise ValueError(f"Feature name '{spec.name}' is used twice.")
        seen.add(spec.name)
    _check_shared_tables(features)
    return features


def _tables(features) -> dict[str, list[CategoricalFeature]]:
    """The embedded categorical features by the table they read."""
    tables: dict[str, list[CategoricalFeature]] = {}
    for spec in features:
        if isinstance(spec, CategoricalFeature):
            tables.setdefault(spec.table, []).append(spec)
    return tables


def _check_shared_tables(features) -> None:
    for table, members in _tables(features).items():
        first = members[0]
        for other in members[1:]:
            for attr in ("dtype", "embedding_dim", "hash_bins",
                         "num_oov_buckets"):
                if attr == "dtype" and None in (first.dtype, other.dtype):
                    continue  # `adapt` gives it the table's
                if getattr(first, attr) != getattr(other, attr):
                    raise ValueError(
                        f"Features '{first.name}' and '{other.name}' share "
                        f"embedding table '{table}' but differ in `{attr}`: "
                        f"{getattr(first, attr)!r} vs "
                        f"{getattr(other, attr)!r}"
                    )
            if (first.vocabulary is not None and other.vocabulary is not None
                    and first.vocabulary != other.vocabulary):
                raise ValueError(
                    f"Features '{first.name}' and '{other.name}' share "
                    f"embedding table '{table}' but have different "
                    f"vocabularies; adapt them together with `adapt`."
                )


def _shared_table_dtypes(features, frame: pd.DataFrame) -> list:
    """Features of one embedding table without a `dtype` take the table's:
    the one declared on another member, else the one inferred from its
    single-valued member's column (a history of ids written as text in a
    CSV cell reads the ids of the item column's type)."""
    from mtzoo.features.categorical import infer_dtype

    chosen = {}
    for table, members in _tables(features).items():
        if all(m.dtype for m in members) or len(members) < 2:
            continue
        declared = {m.dtype for m in members if m.dtype}
        single = [m for m in members
                  if not isinstance(m, MultiCategoricalFeature)]
        if len(declared) == 1:
            chosen[table] = declared.pop()
        elif not declared and single and single[0].source in frame:
            chosen[table] = infer_dtype(frame, single[0])
    return [dataclasses.replace(spec, dtype=chosen[spec.table])
            if isinstance(spec, CategoricalFeature) and not spec.dtype
            and spec.table in chosen else spec for spec in features]


def check_adapted(features: Sequence[FeatureSpec]) -> None:
    """Raises a clear error if any spec still needs `adapt`."""
    for spec in features:
        if not spec.is_adapted:
            raise ValueError(
                f"Feature '{spec.name}' has not learned its "
                f"{spec.missing_state()} yet. Call "
                f"`mtzoo.features.adapt(features, train_frame)` first, or "
                f"set it explicitly."
            )


def adapt(
    features: Sequence[FeatureSpec],
    data: pd.DataFrame | Iterable[pd.DataFrame],
) -> list[FeatureSpec]:
    """Learns vocabularies, statistics and lengths from training data.

    Args:
        features: list of feature specs.
        data: a DataFrame, or an iterable of DataFrame chunks (for example
            `pd.read_csv(path, chunksize=100_000)`) for data larger than
            memory.

    Returns:
        New specs with everything the encoder needs filled in. Values already
        set (a given vocabulary, mean, ...) are kept.
    """
    features = validate(features)
    chunks = iter([data] if isinstance(data, pd.DataFrame) else data)
    first = next(chunks, None)
    if first is not None:
        features = _shared_table_dtypes(features, first)
    statistics = {}
    for spec in features:
        key = spec.statistics_key()
        if key not in statistics:
            statistics[key] = spec.new_statistics()
    seen_rows = 0
    for chunk in itertools.chain([first] if first is not None else [],
                                 chunks):
        seen_rows += len(chunk)
        features = [spec.observe(chunk, statistics[spec.statistics_key()])
                    for spec in features]
    if seen_rows == 0:
        raise DataError("Cannot adapt features on empty data (0 rows).")
    return validate([spec.adapted(statistics[spec.statistics_key()],
                                  features) for spec in features])


def check_inputs(features: Sequence[FeatureSpec], inputs, owner: str) -> None:
    """Raises naming the features `inputs` (a dict) has no tensor for."""
    missing = [s.name for s in features if s.name not in inputs]
    if missing:
        raise ValueError(
            f"{owner} is missing inputs for features {missing}. Received "
            f"inputs: {sorted(inputs)}")
