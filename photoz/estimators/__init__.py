"""Estimators: the CNNs (photoz.models + photoz.training) and the catalogue baselines."""
