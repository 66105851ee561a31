"""Estimators: the CNNs (photoz.models + photoz.training) and the catalogue baselines, behind one
interface (base.py: Estimator).

photoz/registry.py registers each one once (its model schema, its class, a CNN's network);
build.py builds one from the typed config (`build_estimator`) or names the class that loads a
logged one (`estimator_class(name).load(model_uri)`). schema.py holds the baselines' model
schemas. This file imports nothing, so that reading schema.py imports no estimator.
"""
