"""Influence: audits of concentration and group influence, shilling attacks, detection, mitigation."""

from embrec.influence.attacks import AttackSpec, inject, inject_niche_group
from embrec.influence.audit import Audit, audit, group_influence
from embrec.influence.concentration import gini, list_concentration, signal_concentration, top_share
from embrec.influence.detection import DetectionConfig, detect, precision_recall
from embrec.influence.mitigation import Mitigation, apply_mitigation, user_weights

__all__ = [
    "AttackSpec",
    "Audit",
    "DetectionConfig",
    "Mitigation",
    "apply_mitigation",
    "audit",
    "detect",
    "gini",
    "group_influence",
    "inject",
    "inject_niche_group",
    "list_concentration",
    "precision_recall",
    "signal_concentration",
    "top_share",
    "user_weights",
]
