"""Estimators: the CNNs (photoz.models + photoz.training) and the catalogue baselines, behind one
interface (base.py: Estimator).

registry.py registers each one once (its model schema, its class, a CNN's network);
build.py builds one from the typed config (`build_estimator`) or names the class that loads a
logged one (`estimator_class(name).load(model_uri)`). This file imports nothing, so that
photoz.config can read the registry without importing an estimator.
"""
