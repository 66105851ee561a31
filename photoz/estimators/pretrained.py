"""`model.init=<run id>`: the pretrained encoder a CNN starts from, fetched from MLflow.

The run must be a `python -m photoz.pretrain` run (tag run_type=pretrain) in the store of
tracking.uri, and its encoder (photoz.training.encoder) must fit the network, the bands and the
stamps of this run: anything else is one ConfigError line, raised by CNNEstimator.check before
a training run starts.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from photoz.errors import ConfigError, first_line
from photoz.models.schema import HeadConfig
from photoz.training.encoder import ARTIFACT, Encoder, check_fits, read_encoder


def check_init(model_cfg: HeadConfig) -> None:
    """model.freeze_encoder needs model.init."""
    if model_cfg.freeze_encoder and not model_cfg.init:
        raise ConfigError("model.freeze_encoder=true needs model.init=<run id of python -m photoz.pretrain>")


def fetch_encoder(run_id: str, tracking_uri: str) -> Encoder:
    """The encoder pretraining run `run_id` logged to `tracking_uri`; ConfigError if there is none."""
    from hydra.utils import to_absolute_path
    from mlflow.tracking import MlflowClient

    prefix = "sqlite:///"
    uri = prefix + to_absolute_path(tracking_uri[len(prefix) :]) if tracking_uri.startswith(prefix) else tracking_uri
    client = MlflowClient(uri)
    try:
        run = client.get_run(run_id)
    except Exception as err:  # MLflow raises MlflowException with a store-specific message
        raise ConfigError(f"model.init={run_id}: no such run in {tracking_uri} ({first_line(err, 120)}); "
                          "copy the id python -m photoz.pretrain printed") from None  # fmt: skip
    if run.data.tags.get("run_type") != "pretrain":
        what = f"a {run.data.tags['model']} training run" if "model" in run.data.tags else "not a photoz pretraining run"
        raise ConfigError(f"model.init={run_id} is {what}; give the run id of a python -m photoz.pretrain run")
    if run.info.status != "FINISHED":
        raise ConfigError(f"model.init={run_id}: that pretraining is {run.info.status}, not finished; "
                          "finish it (trainer.resume=true) or pick another")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = client.download_artifacts(run_id, ARTIFACT, tmp)
        except Exception:  # no such artifact
            local = str(Path(tmp) / ARTIFACT)
        return read_encoder(local, run_id)


def pretrained_for(model_cfg: HeadConfig, tracking_uri: str, bands: list[str], stamp: tuple[int, ...]) -> Encoder | None:
    """The encoder model.init names, checked against this network, bands and stamps (None without model.init)."""
    check_init(model_cfg)
    if not model_cfg.init:
        return None
    encoder = fetch_encoder(str(model_cfg.init), tracking_uri)
    check_fits(encoder, model_cfg, bands, stamp)
    return encoder
