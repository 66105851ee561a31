"""`python -m photoz.pretrain`: self-supervised contrastive pretraining of a CNN's encoder on
galaxy images (MoCo v2; docs/labels.md), recorded in MLflow.

    python -m photoz.pretrain                                 # the default CNN, the default set's train images
    python -m photoz.pretrain pretrain.splits=[train,test]    # transductive: the test images too
    python -m photoz.pretrain trainer.resume=true             # continue an interrupted pretraining
    python -m photoz.train model.init=<run id>                # fine-tune a CNN from the encoder it logged

A user mistake is one stderr line and exit status 2; Ctrl-C or SIGTERM (raised at the next batch,
photoz.interrupt) ends the MLflow run KILLED with last.pt on disk and the command with one line
saying to continue with trainer.resume=true, exit 130 / 143 (photoz.cli.run_main).
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from photoz.config import register_schemas, to_typed_pretrain
from photoz.errors import exit_on_user_error

register_schemas()


def pretrain(cfg: DictConfig) -> str:
    """Check the config (before torch and mlflow are imported), then pretrain."""
    typed = to_typed_pretrain(cfg)
    from photoz.job.pretrain import pretrain_run

    return pretrain_run(typed)


@hydra.main(config_path="../conf", config_name="pretrain", version_base="1.3")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(pretrain)(cfg)


if __name__ == "__main__":
    from photoz.cli import run_main

    run_main(main, signals=True)
