"""photoz's Hydra sweeper on current Optuna: `hydra/sweeper=photoz` (see docs/sweeps.md).

Hydra imports every module of the `hydra_plugins` namespace package when it looks for plugins,
so `config` and `photoz_sweeper` stay light; the work lives in `_`-prefixed modules, which
Hydra skips, imported on first use.
"""
