"""The layer that turns raw feature values into the ids and floats a model
trains on."""

from __future__ import annotations

import keras

from mtzoo import features as features_lib
from mtzoo.api_export import mtzoo_export
from mtzoo.layers.fused_lookup import FusedVocabularyLookup


@mtzoo_export
class FeaturePreprocessor(keras.layers.Layer):
    """Raw feature values in, encoded model inputs out (no weights).

    Each feature's preprocessing stage: vocabulary lookups or hashing to
    int32 ids (unseen values to out-of-vocabulary ids, list padding to
    `-1`), log transform, standardization and imputation to float32. Every
    vocabulary lives in one `FusedVocabularyLookup` table, the
    single-valued categorical features of a batch are looked up in one op,
    and numeric features go through one chain of ops side by side.
    `mtzoo.data` runs it once over the training rows; exported models run it
    in front of the trained model, so they take raw values.

    Args:
        features: list of adapted feature specs (`mtzoo.features`), or their
            serialized configs.
        **kwargs: Args to pass to the base class.

    Input: dict mapping each feature name to a raw tensor (`[batch]` for
        categorical and numeric features, `[batch, length]` for multi-valued
        ones, `[batch, dim]` for vectors).

    Output: dict mapping each feature name to its encoded tensor, of shape
        `(batch,) + spec.encoded_shape()` and dtype `spec.encoded_dtype()`.

    Example:

    ```python
    specs = mtzoo.features.adapt(
        [CategoricalFeature("city"), NumericFeature("age")], frame)
    FeaturePreprocessor(specs)(
        {"city": tf.constant(["paris"]), "age": tf.constant([31.0])})
    # {"city": <int32 [1]>, "age": <float32 [1, 1]>}
    ```
    """

    def __init__(self, features, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        specs = features_lib.validate(features)
        features_lib.check_adapted(specs)
        self.features = specs
        # === Layers ===
        self._stages = {}
        tables = {}
        for spec in specs:
            key = spec.preprocessing_key()
            if key is not None and key not in self._stages:
                self._stages[key] = spec.make_preprocessing()
            table = spec.vocabulary_table()
            if table is not None:
                tables.setdefault(*table)
        self.vocabularies = (FusedVocabularyLookup(tables, name="vocabularies")
                             if tables else None)
        self.built = True

    def call(self, inputs):
        features_lib.check_inputs(self.features, inputs, "FeaturePreprocessor")
        encoded, pending, groups = {}, {}, {}
        for spec in self.features:
            raw = inputs[spec.name]
            if spec.preprocessing_group() is not None:
                groups.setdefault(spec.preprocessing_group(), []).append(spec)
                continue
            if spec.vocabulary_table() is None:
                encoded[spec.name] = spec.preprocess(
                    raw, self._stages.get(spec.preprocessing_key()))
                continue
            values = spec.lookup_values(raw)
            if values.shape.rank == 1:  # looked up together, below
                pending[spec.name] = (spec, values)
            else:
                ids = self.vocabularies.lookup(
                    {spec.name: (spec.table, values)})[spec.name]
                encoded[spec.name] = spec.from_ids(ids, values)
        if pending:
            ids = self.vocabularies.lookup(
                {name: (spec.table, values)
                 for name, (spec, values) in pending.items()})
            for name, (spec, values) in pending.items():
                encoded[name] = spec.from_ids(ids[name], values)
        for specs in groups.values():
            encoded.update(type(specs[0]).preprocess_group(
                specs, [inputs[spec.name] for spec in specs]))
        return {spec.name: encoded[spec.name] for spec in self.features}

    def compute_output_spec(self, inputs):
        return {spec.name: keras.KerasTensor(
            (None,) + tuple(spec.encoded_shape()), dtype=spec.encoded_dtype())
            for spec in self.features}

    def get_config(self):
        config = super().get_config()
        config["features"] = [features_lib.serialize(f)
                              for f in self.features]
        return config
