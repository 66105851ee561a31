"""`python -m photoz.pretrain`: self-supervised contrastive pretraining of a CNN's encoder on
galaxy images (MoCo v2; docs/labels.md), recorded in MLflow.

    python -m photoz.pretrain                                 # the default CNN, the default set's train images
    python -m photoz.pretrain pretrain.splits=[train,test]    # transductive: the test images too
    python -m photoz.pretrain trainer.resume=true             # continue an interrupted pretraining
    python -m photoz.train model.init=<run id>                # fine-tune a CNN from the encoder it logged

A user mistake is one stderr line and exit status 2; Ctrl-C or SIGTERM ends the MLflow run KILLED
with last.pt on disk, to be continued with trainer.resume=true.
"""

from __future__ import annotations

import signal
import sys

import hydra
from omegaconf import DictConfig

from photoz.config import register_schemas, to_typed_pretrain
from photoz.errors import exit_on_user_error

register_schemas()


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, a scheduler's time limit): handled like Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated("SIGTERM")


@exit_on_user_error
def pretrain(cfg: DictConfig) -> str:
    """Check the config (before torch and mlflow are imported), then pretrain."""
    typed = to_typed_pretrain(cfg)
    from photoz.job.pretrain import pretrain_run

    return pretrain_run(typed)


@hydra.main(config_path="../conf", config_name="pretrain", version_base="1.3")
def main(cfg: DictConfig) -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        pretrain(cfg)
    except KeyboardInterrupt as err:  # the MLflow run is already marked KILLED and last.pt is on disk
        what = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
        print(f"photoz: {what}; continue with the same command plus trainer.resume=true", file=sys.stderr)
        sys.exit(143 if isinstance(err, Terminated) else 130)


if __name__ == "__main__":
    from photoz.cli import run_main

    run_main(main)
