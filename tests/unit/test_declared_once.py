"""Names and defaults declared once: the default config file is the rendering of the typed
defaults, and every feature name used anywhere is one the catalogue declares."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
import pytest

from experiments.config import DEFAULT_CONFIG, RadarConfig, load_config, render_yaml
from features.catalogue import FEATURE_NAMES, REASON_GROUPS
from training.model import RiskModel
from training.peers import FrequentContactRule, PriorComplaintsRule


def test_default_yaml_is_the_rendering_of_the_typed_defaults():
    assert DEFAULT_CONFIG.read_text() == render_yaml(RadarConfig()), (
        "experiments/default.yaml drifted from experiments/config.py: "
        "regenerate it with `radar config > experiments/default.yaml`"
    )
    assert load_config(DEFAULT_CONFIG) == RadarConfig()


def test_the_model_takes_its_defaults_from_the_config():
    assert RiskModel(FEATURE_NAMES).settings == RadarConfig().model


class CatalogueOnly(Mapping):
    """Feature values by name that fail on any name the catalogue does not declare."""

    def __getitem__(self, name: str) -> object:
        if name not in FEATURE_NAMES:
            raise KeyError(f"{name} is not in the feature catalogue")
        return "retail" if name == "segment" else 1.0

    def __iter__(self):
        return iter(FEATURE_NAMES)

    def __len__(self) -> int:
        return len(FEATURE_NAMES)


@pytest.mark.parametrize("group", REASON_GROUPS, ids=lambda g: g.code)
def test_reason_texts_read_only_catalogued_features(group):
    assert group.text(CatalogueOnly())


@pytest.mark.parametrize("rule", [FrequentContactRule(), PriorComplaintsRule()])
def test_peer_rules_read_only_catalogued_features(rule):
    frame = pd.DataFrame({name: [1.0] for name in FEATURE_NAMES if name != "segment"})
    assert not math.isnan(float(rule.score(frame)[0]))
