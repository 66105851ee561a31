"""conf/model/{sequential,googlenet,googlenet_pasquet,resnet,efficientnet,timm}.yaml compose through Hydra against the
schemas and build; the Pasquet configuration is the paper's 27.6M-parameter network."""

from __future__ import annotations

import pytest
import torch
from hydra.errors import ConfigCompositionException

from photoz.config import compose, to_typed
from photoz.models.build import build_model, n_trainable_params


@pytest.mark.parametrize("model", ["sequential", "googlenet", "resnet", "efficientnet"])
def test_cnn_configs_compose_and_build(model: str) -> None:
    cfg = compose(f"model={model}", "model.depth=3", "model.head=regression")
    net = build_model(to_typed(cfg).model, 6, 32)
    assert net(torch.randn(2, 6, 32, 32)).shape == (2, 1)


def test_pasquet_network_has_the_papers_parameter_count() -> None:
    cfg = to_typed(compose("model=googlenet_pasquet")).model
    net = build_model(cfg, 5, 64)  # SDSS ugriz, 64×64 stamps, z ≤ 0.4 in 180 bins
    n = n_trainable_params(net)
    assert abs(n - 27.6e6) / 27.6e6 < 0.01, n  # Pasquet et al. 2019: about 27.6M
    dense = sum(p.numel() for p in net.head.parameters())
    assert abs(dense - 25.8e6) / 25.8e6 < 0.01, dense  # ~25.8M in the dense layers
    assert cfg.z_max == 0.4 and cfg.n_bins == 180
    assert net.inception[-1].branch3 is None  # I4 has no 5×5 branch


@pytest.mark.parametrize("override", ["model.depht=3", "model.depth=deep", "model.batch_norm=maybe", "model.dense=wide"])
def test_typos_and_wrong_types_in_model_keys_fail_at_composition(override: str) -> None:
    model = "googlenet" if "batch_norm" in override else "sequential"
    with pytest.raises(ConfigCompositionException):
        compose(f"model={model}", override)


@pytest.mark.parametrize(("model", "override"), [("timm", "model.depth=3"), ("efficientnet", "model.blocks=2"),
                                                 ("resnet", "model.catalog_features=photometry")])  # fmt: skip
def test_keys_of_other_families_fail_at_composition(model: str, override: str) -> None:
    with pytest.raises(ConfigCompositionException):
        compose(f"model={model}", override)
