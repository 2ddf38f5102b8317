"""The layer choices the dashboard offers: every one is a real endpoint, in the network's order."""

from __future__ import annotations

from core.model.endpoints import (ALIASES, ENDPOINT_ORDER, FEATURE_ENDPOINT_CHOICES, HEAD_ENDPOINTS,
                                  VISUAL_LAYER_CHOICES, resolve_endpoint)


def test_feature_choices_start_with_features_then_every_spatial_endpoint_and_alias():
    assert FEATURE_ENDPOINT_CHOICES[0] == "Features"
    classifier = {"Logits", "Predictions"}
    assert {resolve_endpoint(name) for name in FEATURE_ENDPOINT_CHOICES} == set(ENDPOINT_ORDER) - classifier
    assert not set(FEATURE_ENDPOINT_CHOICES) & classifier
    assert set(ALIASES) <= set(FEATURE_ENDPOINT_CHOICES)


def test_visual_layers_are_the_learned_layers_in_network_order():
    resolved = [resolve_endpoint(name) for name in VISUAL_LAYER_CHOICES]
    assert not any(name.startswith("MaxPool") or name in HEAD_ENDPOINTS for name in resolved)
    endpoints = [name for name in VISUAL_LAYER_CHOICES if name not in ALIASES]
    assert endpoints == sorted(endpoints, key=ENDPOINT_ORDER.index)
    assert endpoints[0] == "Conv3d_1a_7x7" and endpoints[-1] == "Mixed_5c" and len(endpoints) == 12
    assert VISUAL_LAYER_CHOICES.index("Mixed_4f") == 9  # the gallery's default, after 3 convolutions and 6 blocks
