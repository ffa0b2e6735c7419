"""What mtzoo offers, by name: the architectures and the recipes.

Plain data with no TensorFlow import, so that `mtzoo models`, `mtzoo
recipes` and `mtzoo --help` answer at once. The builders
(`mtzoo.models.registry`) and recipes (`mtzoo.recipes`) take their names and
descriptions from here.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import pathlib


@dataclasses.dataclass(frozen=True)
class ArchitectureInfo:
    """An architecture's entry.

    Attributes:
        name: the registry name.
        description: one line for `mtzoo models`.
        paper: the paper behind it.
        retrieval: whether its builder trains retrieval tasks (query and
            candidate towers) beside ranking tasks. The one place this is
            stated: builders' schema checks, recipes and the command line
            read it.
    """

    name: str
    description: str
    paper: str | None = None
    retrieval: bool = False


@dataclasses.dataclass(frozen=True)
class RecipeInfo:
    name: str
    description: str
    architectures: tuple
    default_model: str = "mmoe"


ARCHITECTURES = {a.name: a for a in (
    ArchitectureInfo("single_task", "An independent encoder and network per "
                     "task (no sharing baseline)."),
    ArchitectureInfo("shared_bottom", "A shared bottom MLP with one tower per "
                     "task (hard parameter sharing).", "Caruana, 1997",
                     retrieval=True),
    ArchitectureInfo("omoe", "Experts mixed by one softmax gate shared by "
                     "all tasks.", "Ma et al., KDD 2018"),
    ArchitectureInfo("mmoe", "Shared experts with one softmax gate per "
                     "task.", "Ma et al., KDD 2018", retrieval=True),
    ArchitectureInfo("ple", "Progressive layered extraction: shared and "
                     "task-specific experts over several levels.",
                     "Tang et al., RecSys 2020"),
    ArchitectureInfo("attention_gated", "Shared experts; each task attends "
                     "over their outputs with an input-conditioned query "
                     "(multi-head)."),
    ArchitectureInfo("aitm", "Sequential tasks (click -> conversion) with "
                     "attentive information transfer and a funnel "
                     "calibration loss.", "Xi et al., KDD 2021"),
    ArchitectureInfo("esmm", "CTR and CVR towers; pCTCVR = pCTR x pCVR "
                     "trained on all impressions.", "Ma et al., SIGIR 2018"),
    ArchitectureInfo("two_tower", "Query and candidate towers for retrieval; "
                     "ranking heads read both vectors.",
                     "Yi et al., RecSys 2019", retrieval=True),
)}

#: Architectures for any set of ranking tasks.
GENERAL = ("single_task", "shared_bottom", "omoe", "mmoe", "ple",
           "attention_gated")
#: ...and the click -> conversion funnel.
FUNNEL = GENERAL + ("aitm", "esmm")
#: ...and two towers for retrieval.
RETRIEVAL = GENERAL + ("two_tower",)
#: Architectures that train retrieval tasks.
RETRIEVAL_ARCHITECTURES = tuple(
    name for name, info in ARCHITECTURES.items() if info.retrieval)



def architectures_for(architectures, retrieval: bool) -> tuple:
    """Of `architectures`, those a run can train: all of them, or those
    that train retrieval when the run has a retrieval task."""
    if not retrieval:
        return tuple(architectures)
    return tuple(a for a in architectures if a in RETRIEVAL_ARCHITECTURES)


RECIPES = {r.name: r for r in (
    RecipeInfo("census_income", "UCI Census-Income (KDD): income > 50K and "
               "never married (the MMoE paper's benchmark).", GENERAL),
    RecipeInfo("movielens", "MovieLens 100K/1M: rating (regression) and "
               "liked (rating >= 4), split by time.", RETRIEVAL),
    RecipeInfo("amazon_reviews", "Amazon Musical Instruments reviews: "
               "rating, liked and helpful from users, products and review "
               "text; split by time.", RETRIEVAL),
    RecipeInfo("ali_ccp", "Ali-CCP (Taobao): click and purchase; fits ESMM "
               "and AITM.", FUNNEL, default_model="esmm"),
    RecipeInfo("aliexpress", "AliExpress (one country): click and "
               "conversion; fits ESMM and AITM.", FUNNEL),
    RecipeInfo("table", "Your own table: files, features and tasks from a "
               "TOML config (--config; `mtzoo init-config DATA` writes "
               "one).", GENERAL),
    RecipeInfo("synthetic", "Simulated impressions (click, watch time, "
               "interest; click -> conversion for AITM and ESMM). Offline.",
               FUNNEL),
)}


def architecture(name: str) -> ArchitectureInfo:
    """An architecture's entry, with an error listing the names."""
    if name not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {name!r}. Available: "
                         f"{list(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def recipe(name: str) -> RecipeInfo:
    """A recipe's entry, with an error listing the names."""
    if name not in RECIPES:
        raise ValueError(f"Unknown recipe {name!r}. Available: "
                         f"{list(RECIPES)}")
    return RECIPES[name]


#: How task losses can be balanced in training (`mtzoo.training.weighting`).
WEIGHTINGS = ("dwa", "fixed", "gradnorm", "pcgrad", "uncertainty")
#: `tf.distribute` strategies a run trains under: one device, mirrored over
#: the local devices, or multi-worker (`mtzoo.training.distribution`).
STRATEGIES = ("default", "mirrored", "multi_worker")
#: What a retrieval task scores its positive against: the batch's other
#: items, a sample of the catalogue or all of it (`mtzoo.tasks.retrieval`).
RETRIEVAL_NEGATIVES = ("in_batch", "sampled", "all")
#: How the Amazon reviews recipe encodes review text: left out, a trained
#: bag of words, or the pretrained MiniLM.
TEXT_ENCODERS = ("none", "bag", "minilm")
#: Builder keywords a recipe sets itself; never command-line flags.
RECIPE_SET = frozenset({"name", "ctr_task", "ctcvr_task", "cvr_output"})

_MODELS = pathlib.Path(__file__).resolve().parent / "models"


def hyperparameters(name: str) -> dict:
    """The keyword arguments of architecture `name`'s builder and their
    defaults, as `mtzoo.models.registry.hyperparameters` gives them, read
    from the builder's source (`mtzoo/models/<name>.py`) without importing
    it, so that a recipe's `--help` needs no TensorFlow."""
    architecture(name)
    return dict(_builder_keywords(name))


@functools.cache
def _builder_keywords(name: str) -> dict:
    tree = ast.parse((_MODELS / f"{name}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call) and d.args
                and isinstance(d.args[0], ast.Constant)
                and d.args[0].value == name
                for d in node.decorator_list):
            arguments = node.args
            return {a.arg: ast.literal_eval(default) for a, default in zip(
                arguments.kwonlyargs, arguments.kw_defaults)}
    raise LookupError(f"mtzoo/models/{name}.py registers no builder "
                      f"{name!r}.")
