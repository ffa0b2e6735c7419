"""The package's shape: its import graph and where task kinds are asked."""

import ast
import pathlib
import re

import numpy as np
import pandas as pd
import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "mtzoo"
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """mtzoo module -> the mtzoo modules it imports (anywhere in it)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith("mtzoo"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names
                            if a.name.startswith("mtzoo")}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_no_module_imports_itself_through_others():
    graph = _imports()
    state = {}

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                pytest.fail(f"import circle: {' -> '.join(cycle)}")
            if target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_only_task_and_feature_kinds_compare_kind_names():
    pattern = re.compile(r"\bkind\s*(==|!=|\bin\b|\bnot in\b)")
    found = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(("tasks/", "features/")):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if pattern.search(code):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_architectures_that_take_retrieval_are_declared_once():
    from mtzoo import catalog
    from mtzoo import features as F
    from mtzoo import models
    from mtzoo import tasks as T

    frame = pd.DataFrame({"user": ["a", "b", "c", "a"],
                          "item": ["x", "y", "x", "z"]})
    features = F.adapt([F.CategoricalFeature("user"),
                        F.CategoricalFeature("item")], frame)
    tasks = [T.retrieval("next", candidate_features=["item"]),
             T.binary("user_is_a", label="user")]
    builds = []
    for name in catalog.GENERAL + ("two_tower",):
        try:
            models.build(name, features, tasks[:1])
            builds.append(name)
        except ValueError as error:
            assert "retrieval tasks" in str(error), (name, error)
    assert sorted(builds) == sorted(catalog.RETRIEVAL_ARCHITECTURES)


def test_models_saved_before_task_kinds_were_classes_load():
    """A `.keras` file written when a task was one class with a `kind`
    string, and a retrieval head packed its ids in one column."""
    from mtzoo import data
    from mtzoo import models
    from mtzoo import tasks as T
    from mtzoo.retrieval import layout

    model = models.load_model(FIXTURES / "legacy_v0.keras")
    kinds = {t.name: type(t) for t in model.tasks}
    assert kinds == {"next": T.RetrievalTask, "click": T.BinaryTask,
                     "rating": T.RegressionTask,
                     "stars_class": T.MulticlassTask}
    assert model.tasks[3].classes == (1, 2, 3)
    rows = pd.read_csv(FIXTURES / "legacy_v0_rows.csv")
    rows["user"] = rows["user"].astype(str)
    expected = np.load(FIXTURES / "legacy_v0_predictions.npz")
    actual = model.predict(data.model_inputs(rows, model.features),
                           verbose=0)
    for name in ("click", "rating", "stars_class"):
        np.testing.assert_allclose(actual[name], expected[name], rtol=1e-5,
                                   atol=1e-6)
    # Vectors and log Q as before; the id now in two exact columns.
    dim = model.tasks[0].embedding_dim
    np.testing.assert_allclose(actual["next"][:, :2 * dim + 1],
                               expected["next"][:, :2 * dim + 1], rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_array_equal(
        np.asarray(layout.unpack_ids(actual["next"][:, 2 * dim + 1:])),
        expected["next"][:, -1].astype(int))
