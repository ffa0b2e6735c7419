"""Feature specs: what each raw column is and how the model encodes it.

A spec says how one raw column becomes model input. `adapt` learns what the
specs need from training data (vocabularies, normalization statistics,
sequence lengths). Each kind then has two stages: *preprocessing* (raw
values to int32 ids or float32 values: lookups, hashing, log transform,
standardization, imputation, truncation and padding), run once when data is
encoded for training (`mtzoo.data`) and again inside exported models
(`mtzoo.layers.FeaturePreprocessor`); and the *model* stage (embeddings,
pooling, projections; `mtzoo.layers.FeatureEncoder`), which trains. An
exported model therefore takes the raw values a user has, while training
never touches a string.

Conventions for raw values:

* string features: the empty string means "missing"; it is the padding value
  of multi-valued string features.
* integer features: `-1` means "missing"; it is the padding value of
  multi-valued integer features and always maps to an out-of-vocabulary index.
* numeric and vector features: NaN and infinities mean "missing".

Example:

```python
features = [
    mtzoo.features.CategoricalFeature("user_id", dtype="int64"),
    mtzoo.features.CategoricalFeature("device"),
    mtzoo.features.NumericFeature("price", log_transform=True),
    mtzoo.features.MultiCategoricalFeature("genres", separator="|"),
    mtzoo.features.VectorFeature("title_embedding", dim=32),
    mtzoo.features.TextFeature("review", column="Review Text"),
]
features = mtzoo.features.adapt(features, train_frame)
```
"""

from mtzoo.features.base import INT64
from mtzoo.features.base import MISSING_INT
from mtzoo.features.base import MISSING_STRING
from mtzoo.features.base import STRING
from mtzoo.features.base import DataError
from mtzoo.features.base import FeatureSpec
from mtzoo.features.base import check_name
from mtzoo.features.categorical import CategoricalFeature
from mtzoo.features.multi_categorical import POOLINGS
from mtzoo.features.multi_categorical import MultiCategoricalFeature
from mtzoo.features.numeric import NumericFeature
from mtzoo.features.numeric import takes_piecewise_linear_bins
from mtzoo.features.numeric import with_piecewise_linear_bins
from mtzoo.features.sequence import SEQUENCE_POOLINGS
from mtzoo.features.sequence import SequenceFeature
from mtzoo.features.specs import KINDS
from mtzoo.features.specs import SPEC_CLASSES
from mtzoo.features.specs import adapt
from mtzoo.features.specs import check_adapted
from mtzoo.features.specs import check_inputs
from mtzoo.features.specs import check_kind
from mtzoo.features.specs import create
from mtzoo.features.specs import deserialize
from mtzoo.features.specs import serialize
from mtzoo.features.specs import validate
from mtzoo.features.text import TextFeature
from mtzoo.features.vector import VectorFeature

__all__ = [
    "INT64", "KINDS", "MISSING_INT", "MISSING_STRING", "POOLINGS",
    "SEQUENCE_POOLINGS", "SPEC_CLASSES", "STRING", "CategoricalFeature",
    "DataError", "FeatureSpec", "MultiCategoricalFeature", "NumericFeature",
    "SequenceFeature", "TextFeature",
    "VectorFeature", "adapt",
    "check_adapted", "check_inputs", "check_kind", "create", "check_name", "deserialize",
    "serialize", "takes_piecewise_linear_bins", "validate",
    "with_piecewise_linear_bins",
]
