"""The model-comparison table and figures behind `python -m photoz.compare`."""
