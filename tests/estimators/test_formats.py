"""photoz.estimators.formats: a model folder holding anything but its format's flavours and files is
refused in one line before any file in it is read; a RAIL model (pickles) needs trust_pickles."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from photoz.estimators.formats import FORMATS, UntrustedModel, check_folder


def _folder(tmp: Path, fmt: str, **flavour_edits: dict) -> Path:
    """A folder with exactly format `fmt`'s MLmodel flavours and files (empty files)."""
    spec = FORMATS[fmt]
    flavours = {name: {**values, **flavour_edits.get(name, {})} for name, values in spec.flavours.items()}
    tmp.mkdir()
    (tmp / "MLmodel").write_text(yaml.safe_dump({"flavors": flavours, "metadata": {"photoz": {}}}))
    for name in spec.files:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_bytes(b"")
    return tmp


@pytest.mark.parametrize("fmt", ["cnn", "sklearn", "template_fit"])
def test_own_formats_pass_and_anything_else_is_refused(fmt: str, tmp_path: Path) -> None:
    assert check_folder(_folder(tmp_path / "ok", fmt), FORMATS[fmt], "m")["flavors"]
    extra = _folder(tmp_path / "extra", fmt)
    (extra / "python_model.pkl").write_bytes(b"payload")
    with pytest.raises(UntrustedModel, match="holds python_model.pkl, which a photoz model never holds"):
        check_folder(extra, FORMATS[fmt], "m")
    edited = _folder(tmp_path / "edited", fmt, python_function={"loader_module": "mlflow.pyfunc.model"})
    with pytest.raises(UntrustedModel, match="loader_module: 'mlflow.pyfunc.model'"):
        check_folder(edited, FORMATS[fmt], "m")
    (tmp_path / "none").mkdir()
    with pytest.raises(UntrustedModel, match="no readable MLmodel"):
        check_folder(tmp_path / "none", FORMATS[fmt], "m")


def test_a_flavour_added_or_a_serialisation_changed_is_refused(tmp_path: Path) -> None:
    cloud = _folder(tmp_path / "cloud", "sklearn", sklearn={"serialization_format": "cloudpickle"})
    with pytest.raises(UntrustedModel, match="serialization_format: 'cloudpickle'"):
        check_folder(cloud, FORMATS["sklearn"], "m")
    added = _folder(tmp_path / "added", "template_fit")
    mlmodel = yaml.safe_load((added / "MLmodel").read_text())
    mlmodel["flavors"]["sklearn"] = {"serialization_format": "pickle"}
    (added / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(UntrustedModel, match="names flavours"):
        check_folder(added, FORMATS["template_fit"], "m")


def test_a_rail_model_needs_trust_pickles(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "rail", "rail")
    with pytest.raises(UntrustedModel, match="pickles, which run code when read.*trust_pickles=true"):
        check_folder(folder, FORMATS["rail"], "m")
    assert check_folder(folder, FORMATS["rail"], "m", trust_pickles=True)
