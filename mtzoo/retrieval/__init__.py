"""Retrieval: finding a query's candidates among the whole catalogue.

- `softmax`: the in-batch softmax loss with its hand-written gradient;
- `layout`: how a retrieval head packs ids into its output;
- `retrieval_head`, `item_softmax_head`, `next_item_head`: the heads (two
  towers; an item table with a full or sampled softmax; that softmax at
  every position of a sequence);
- `towers`: query and candidate towers as builders add them;
- `catalogues`: the candidates and their sampling probabilities;
- `vectors`, `evaluation`: vectors of a trained model, recall and NDCG at
  k over the catalogue;
- `export`: the SavedModel's retrieval signatures;
- `refresh`: a trained model exported again with a new catalogue.

The task kind itself is `mtzoo.tasks.RetrievalTask`. Names below load on
first use, so the task kind can use the loss without loading the rest.

Example:

```python
catalogue = mtzoo.retrieval.catalogue(train, features, tasks)
mtzoo.retrieval.set_sampling_probabilities(model, catalogue)
model.fit(...)
mtzoo.retrieval.evaluate(model, test, catalogue)  # recall_at_10, ...
```
"""

from mtzoo import lazy

_NAMES = {
    "Catalogue": "catalogues", "catalogue": "catalogues",
    "retrieval_task": "catalogues",
    "set_sampling_probabilities": "catalogues",
    "export_with_catalogue": "refresh",
    "Tower": "vectors", "tower_model": "vectors",
    "candidate_vectors": "vectors", "query_vectors": "vectors",
    "evaluate": "evaluation", "popularity": "evaluation",
    "RetrievalHead": "retrieval_head", "normalize": "retrieval_head",
    "ItemSoftmaxHead": "item_softmax_head",
    "NextItemHead": "next_item_head",
}

__all__ = sorted(_NAMES)
__getattr__ = lazy.loader("mtzoo.retrieval", _NAMES)


def __dir__():
    return sorted(set(globals()) | set(_NAMES))
