"""photoz's model formats, registered once: what a logged model may hold, and the one check that a
model folder holds nothing else before any of it is read.

Each estimator class names its line of FORMATS (`Estimator.model_format`). A line states the
MLflow flavours the model's MLmodel must name, with the values photoz wrote (its pyfunc
`loader_module`, for scikit-learn `serialization_format: skops`), and every file the folder may
hold besides the text files MLflow writes beside any model. `checked_model_folder` downloads the
model, reads its MLmodel as plain YAML and refuses, in one line, a flavour value or a file that is
not photoz's own, before the estimator's own code reads the files it wrote (safetensors + JSON,
skops with photoz's trusted types, the template fit's JSON): a model file never chooses its loader.

Only `pickles=True` formats (RAIL's own model file: RAIL stores its estimators as pickles) can run
code when read; loading one needs an explicit `trust_pickles=true`. A new kind of model adds one
line here and its class's `from_model_folder`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from photoz.errors import PhotozError, first_line

CODE_MODEL = "mlflow.pyfunc.loaders.code_model"  # a "model from code": its code file is never run by photoz
# what MLflow itself writes beside a model: text, YAML and JSON that photoz reads as data or not at all
MLFLOW_FILES = frozenset({"MLmodel", "conda.yaml", "python_env.yaml", "requirements.txt", "input_example.json",
                          "serving_input_example.json", "registered_model_meta"})  # fmt: skip


class UntrustedModel(PhotozError):
    """A model folder that holds what photoz did not write (or a pickle the user did not trust)."""


@dataclass(frozen=True)
class ModelFormat:
    """One format: flavour -> {MLmodel key: the value photoz writes}, the files it may hold (relative
    to the model folder; the first `required` of them must be there) and whether reading it unpickles."""

    flavours: dict[str, dict[str, str]]
    files: tuple[str, ...]
    required: int = 0
    pickles: bool = False
    what: str = field(default="a photoz model", compare=False)


FORMATS: dict[str, ModelFormat] = {
    # CNNs: safetensors weights + JSON config (photoz.training.model_files), rebuilt by photoz's code
    "cnn": ModelFormat({"python_function": {"loader_module": CODE_MODEL}},
                       ("artifacts/weights.safetensors", "artifacts/photoz_model.json", "pyfunc.py",
                        "artifacts/model_int8.onnx", "artifacts/int8.json"), 2),  # trainer.log_int8: ONNX, no pickle
    # random_forest, knn: skops, read by skops.io.load with the class's own trusted types
    "sklearn": ModelFormat({"sklearn": {"serialization_format": "skops", "pickled_model": "model.skops"},
                            "python_function": {"loader_module": "mlflow.sklearn", "model_path": "model.skops"}},
                           ("model.skops",), 1),
    # template_fit: nothing learned; its config and the text of its data set's own filter curves, if any
    # (MLmodel metadata, and a JSON copy for `mlflow models serve`), parsed and bounded before use
    "template_fit": ModelFormat({"python_function": {"loader_module": CODE_MODEL}},
                                ("artifacts/photoz_model.json", "template_pyfunc.py")),
    # model=ensemble: a JSON file naming its members (photoz.estimators.ensemble); each member is then
    # loaded, and checked, through its own format
    "ensemble": ModelFormat({"photoz_ensemble": {"data": "ensemble.json"}}, ("ensemble.json",), 1),
    # RAIL: RAIL's own model file and its pyfunc are pickles
    "rail": ModelFormat({"python_function": {"loader_module": "mlflow.pyfunc.model", "python_model": "python_model.pkl"}},
                        ("python_model.pkl", "artifacts/rail_model.pkl"), 2, pickles=True, what="a RAIL model"),
}  # fmt: skip


def read_mlmodel(folder: Path, where: str) -> dict[str, Any]:
    """The MLmodel file of a model folder as plain YAML (never MLflow's loader)."""
    try:
        mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise UntrustedModel(f"{where}: no readable MLmodel file ({first_line(err)}); is this an MLflow model photoz logged?") from None
    if not isinstance(mlmodel, dict) or not isinstance(mlmodel.get("flavors"), dict):
        raise UntrustedModel(f"{where}: its MLmodel file names no flavours; is this an MLflow model photoz logged?")
    return mlmodel


def check_folder(folder: Path, fmt: ModelFormat, where: str, trust_pickles: bool = False) -> dict[str, Any]:
    """The folder's MLmodel, once its flavours and files are exactly `fmt`'s; UntrustedModel
    (one line naming `where`) otherwise, and for a pickle format without `trust_pickles`."""
    mlmodel = read_mlmodel(folder, where)
    flavours = mlmodel["flavors"]
    if set(flavours) != set(fmt.flavours):
        raise UntrustedModel(f"{where}: its MLmodel names flavours {sorted(flavours)}, not {fmt.what}'s "
                             f"{sorted(fmt.flavours)}; photoz loads only the formats it writes, retrain it")
    for flavour, expected in fmt.flavours.items():
        got = flavours[flavour] if isinstance(flavours[flavour], dict) else {}
        for key, value in expected.items():
            if got.get(key) != value:
                raise UntrustedModel(f"{where}: its MLmodel says {flavour}.{key}: {got.get(key)!r}, but {fmt.what} "
                                     f"is {value!r}; photoz loads only the formats it writes, retrain it")
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}
    foreign = sorted(files - MLFLOW_FILES - set(fmt.files))
    if foreign:
        raise UntrustedModel(f"{where}: holds {', '.join(foreign[:3])}, which {fmt.what} never holds; "
                             "photoz reads nothing it did not write, retrain it")
    missing = [f for f in fmt.files[: fmt.required] if f not in files]
    if missing:
        raise UntrustedModel(f"{where}: lacks {', '.join(missing)}; it is not {fmt.what} photoz logged, retrain it")
    if fmt.pickles and not trust_pickles:
        raise UntrustedModel(f"{where} is {fmt.what}: its files are pickles, which run code when read; "
                             "load it only if you trust who made it, with trust_pickles=true")
    return mlmodel


def checked_model_folder(model_uri: str, fmt: ModelFormat, dst: str, trust_pickles: bool = False) -> tuple[Path, dict[str, Any]]:
    """Download the model at `model_uri` into `dst` and check it (check_folder): its folder and MLmodel."""
    import mlflow

    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=dst))
    except Exception as err:  # MLflow raises several types for a missing model
        raise PhotozError(f"cannot open MLflow model {model_uri} ({first_line(err)}); check the run id or model URI") from None
    return local, check_folder(local, fmt, model_uri, trust_pickles)


def photoz_metadata(mlmodel: dict[str, Any], where: str, key: str = "photoz") -> dict[str, Any]:
    """The photoz metadata a model's MLmodel holds (its config, bands, state); one line if none."""
    meta = (mlmodel.get("metadata") or {}).get(key)
    if not isinstance(meta, dict):
        raise UntrustedModel(f"{where} was not logged by photoz (no '{key}' metadata in its MLmodel)")
    return meta
