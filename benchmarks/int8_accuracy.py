"""int8's accuracy cost: a logged CNN's test-split metrics with precision=int8 against fp32 (not a test).

    python benchmarks/int8_accuracy.py <run id> --tracking-uri sqlite:///mlruns/mlflow.db

Loads the run's model and data set, predicts the test split in fp32 (the fast path) and in int8
(photoz.inference.quantize, calibrated on the train split, as `photoz.predict precision=int8`
does), and prints Δσ_MAD (relative), Δη, Δbias and max |Δz_phot|, each difference with a 1σ
bootstrap error over the test galaxies (paired: both sides resampled together).
"""

from __future__ import annotations

import argparse

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient

from photoz.estimators.cnn import CNNEstimator
from photoz.predictions.metrics import point_metrics
from photoz.estimators.logged import run_model_uri
from run_dataset import run_dataset  # benchmarks/: a removed worktree's data set is found under ./data


def deltas(z8: np.ndarray, z32: np.ndarray, zs: np.ndarray) -> dict[str, float]:
    """{Δσ_MAD relative, Δη, Δbias} of int8 against fp32."""
    m8, m32 = point_metrics(z8, zs), point_metrics(z32, zs)
    return {"dsigma_mad_rel": m8["sigma_mad"] / m32["sigma_mad"] - 1, "deta": m8["eta"] - m32["eta"], "dbias": m8["bias"] - m32["bias"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--tracking-uri", default="sqlite:///mlruns/mlflow.db")
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    client = MlflowClient(args.tracking_uri)
    est = CNNEstimator.load(run_model_uri(client, args.run))
    data = run_dataset(client.get_run(args.run))
    test = data.split_index("test")
    fp32 = est.predict(data, test)
    est.use_int8(data)
    int8 = est.predict(data, test)
    d = deltas(int8.z_phot, fp32.z_phot, fp32.z_spec)
    rng = np.random.default_rng(0)
    boot = [deltas(int8.z_phot[i], fp32.z_phot[i], fp32.z_spec[i]) for i in rng.integers(0, len(test), (args.bootstrap, len(test)))]
    err = {k: float(np.std([b[k] for b in boot])) for k in d}
    m32 = point_metrics(fp32.z_phot, fp32.z_spec)
    print(f"run {args.run} ({est.net.model_cfg.name}), {len(test)} test galaxies of {data.path}")
    print(f"fp32: σ_MAD {m32['sigma_mad']:.4f}  η {100 * m32['eta']:.2f} %  bias {m32['bias']:+.5f}")
    print(f"int8 - fp32: Δσ_MAD {100 * d['dsigma_mad_rel']:+.2f} ± {100 * err['dsigma_mad_rel']:.2f} %  "
          f"Δη {100 * d['deta']:+.2f} ± {100 * err['deta']:.2f} points  Δbias {d['dbias']:+.5f} ± {err['dbias']:.5f}  "
          f"max |Δz_phot| {np.abs(int8.z_phot - fp32.z_phot).max():.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
