"""RAIL's own evaluation of photoz's qp files: for each model's best run in an MLflow experiment,
read its logged predictions/test_predictions.hdf5 with qp and print RAIL's point metrics and its
CDE loss (a PDF metric), beside photoz's logged numbers (they must agree).

    python benchmarks/rail_qp_metrics.py sqlite:///mlruns/rail_bench.db [experiment name]
"""

from __future__ import annotations

import sys
import tempfile

import numpy as np
import qp
from mlflow.tracking import MlflowClient
from rail.evaluation.metrics.cdeloss import CDELoss
from rail.evaluation.metrics.pointestimates import PointBias, PointOutlierRate, PointSigmaIQR, PointSigmaMAD

from photoz.comparison.table import best_runs, find_experiment


def main(uri: str, experiment: str | None) -> None:
    client = MlflowClient(uri)
    rows = best_runs(client, find_experiment(client, experiment, None, uri), None)
    print("| model | RAIL σ_IQR | RAIL bias (median) | RAIL outliers | RAIL σ_MAD | CDE loss | photoz test_sigma_iqr |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        with tempfile.TemporaryDirectory() as tmp:
            ens = qp.read(client.download_artifacts(row.run_id, "predictions/test_predictions.hdf5", tmp))
        z_phot, z_true = ens.ancil["z_phot"].ravel(), ens.ancil["redshift"].ravel()
        cde = CDELoss(ens, np.linspace(0.0, 3.5, 351), z_true).evaluate().statistic
        logged = client.get_run(row.run_id).data.metrics["test_sigma_iqr"]
        print(f"| {row.model} | {PointSigmaIQR(z_phot, z_true).evaluate():.4f} | {PointBias(z_phot, z_true).evaluate():+.4f} "
              f"| {PointOutlierRate(z_phot, z_true).evaluate():.2%} | {PointSigmaMAD(z_phot, z_true).evaluate():.4f} "
              f"| {cde:.2f} | {logged:.4f} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
