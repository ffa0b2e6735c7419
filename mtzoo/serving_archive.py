"""A SavedModel of named signatures, each traced once.

`keras.export.ExportArchive` keeps each endpoint as a `tf.function`, which
it traces while listing the variables and which `tf.saved_model.save`
traces again inside its save context (a new trace key); its search for
lookup tables walks the tracked models as a SavedModel would, tracing their
default signature too. For a model holding a pretrained text encoder each
trace takes seconds. Here each signature is traced once, saved as that
concrete function, and the variables and tables it reads are found from
the function and from the tracked objects' checkpoint dependencies.
"""

from __future__ import annotations

import tensorflow as tf


class ServingArchive:
    """Signatures and what they read, written as one SavedModel.

    Example:

    ```python
    archive = ServingArchive()
    archive.track(serving_model)
    archive.add_endpoint("serving_default", serve, [input_specs])
    archive.write_out("path/to/1")
    ```
    """

    def __init__(self):
        self._tracked = []
        self._signatures = {}

    def track(self, trackable) -> None:
        """Keeps `trackable`'s variables and lookup tables in the SavedModel
        (a layer, model or `tf.Module` a signature calls)."""
        self._tracked.append(trackable)

    def add_endpoint(self, name: str, fn, input_signature: list) -> None:
        """Traces `fn` on `input_signature` (a list of its arguments'
        `tf.TensorSpec` structures) as the signature `name`."""
        if name in self._signatures:
            raise ValueError(f"The signature '{name}' is already taken.")
        self._signatures[name] = tf.function(
            fn, autograph=False).get_concrete_function(*input_signature)

    def write_out(self, path) -> None:
        """Writes the SavedModel to `path`: each signature, callable after
        loading from `signatures` and as an attribute of the same name."""
        if not self._signatures:
            raise ValueError("No signature to write: call add_endpoint().")
        root = tf.Module()
        root.kept_variables = self._variables()
        root.kept_resources = self._resources()
        for name, function in self._signatures.items():
            setattr(root, name, function)
        tf.saved_model.save(root, str(path), signatures=dict(
            self._signatures))

    def _variables(self) -> list:
        """The tracked objects' variables and those the signatures read."""
        found = {}
        for trackable in self._tracked:
            for variable in getattr(trackable, "variables", ()):
                found.setdefault(id(variable), variable)
        for function in self._signatures.values():
            for variable in function.variables:
                found.setdefault(id(variable), variable)
        return list(found.values())

    def _resources(self) -> list:
        """The lookup tables (and other resources) of the tracked
        objects."""
        found = {}
        for trackable in self._tracked:
            for child in tf.train.TrackableView(trackable).descendants():
                if isinstance(child, tf.saved_model.experimental
                              .TrackableResource):
                    found.setdefault(id(child), child)
        return list(found.values())
