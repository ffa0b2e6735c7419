"""Reusable Keras layers of mtzoo's architectures."""

from mtzoo.layers.expert_attention_gate import ExpertAttentionGate
from mtzoo.layers.expert_bank import ExpertBank
from mtzoo.layers.dropout import Dropout
from mtzoo.layers.embedding_tables import EmbeddingTables
from mtzoo.layers.expert_mixture import ExpertMixture
from mtzoo.layers.feature_encoder import FeatureEncoder
from mtzoo.layers.feature_preprocessor import FeaturePreprocessor
from mtzoo.layers.fused_lookup import FusedVocabularyLookup
from mtzoo.layers.id_linear import IdLinear
from mtzoo.layers.information_transfer import AdaptiveInformationTransfer
from mtzoo.layers.information_transfer import CalibrationConstraint
from mtzoo.layers.label_scale import LabelScale
from mtzoo.layers.mlp import MLP
from mtzoo.layers.sequence_pooling import SequencePooling
from mtzoo.layers.softmax_gate import SoftmaxGate
from mtzoo.layers.tree_ensemble import TreeEnsemble
from mtzoo.layers.tree_inputs import TreeInputs
from mtzoo.layers.weighted_mean import WeightedMean

#: Layers whose output is a weighting over experts, for utilization plots.
GATE_LAYERS = (SoftmaxGate, ExpertAttentionGate)

__all__ = [
    "AdaptiveInformationTransfer",
    "CalibrationConstraint",
    "Dropout",
    "EmbeddingTables",
    "ExpertAttentionGate",
    "ExpertBank",
    "ExpertMixture",
    "FeatureEncoder",
    "FeaturePreprocessor",
    "FusedVocabularyLookup",
    "IdLinear",
    "GATE_LAYERS",
    "LabelScale",
    "MLP",
    "SequencePooling",
    "SoftmaxGate",
    "TreeEnsemble",
    "TreeInputs",
    "WeightedMean",
]
