"""Where a CNN run's z* bias comes from: mean Δz per z_phot bin, and what temperature scaling does.

    python benchmarks/bias_diagnostics.py --uri sqlite:///mlruns/mlflow.db --run <run id>

Loads the run's logged CNN (pdf head) and its data set, and predicts the val and test splits.
For PDFs calibrated galaxy by galaxy, E[(z* − z)/(1 + z) | x] = 0, so the mean Δz must vanish in
every bin of z_phot (not of z_spec: binning on the truth shows regression to the mean instead);
the table says where it does not. Then it divides the logits by a temperature T (T > 1 widens
every PDF; Guo et al. 2017), T fitted by the val split's log-likelihood, and prints test bias,
σ_MAD, η and PIT KS for T = 1 (the run as logged), the fitted T and a few others. Not a test.
"""

from __future__ import annotations

import argparse
import dataclasses

import mlflow
import numpy as np
import torch
from mlflow.tracking import MlflowClient

from photoz.estimators.cnn import CNNEstimator
from photoz.predictions.metrics import bias, bias_error, delta_z, eta, sigma_mad
from photoz.predictions.pdf import pit_ks, point_estimates
from photoz.predictions.table import z_grid
from photoz.estimators.logged import run_model_uri
from photoz.training.loop import predict_outputs
from run_dataset import run_dataset  # benchmarks/: a removed worktree's data set is found under ./data

ZPHOT_EDGES = (0.0, 0.3, 0.6, 1.0, 1.5, 2.0, 3.0, 4.0)
TEMPERATURES = (1.0, 1.1, 1.2, 1.5)


def logits_of(est: CNNEstimator, data, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(logits, z_spec) of a split, predicted by the eager network in fp32 (as photoz.predict does on CPU)."""
    rt = dataclasses.replace(est.runtime(), bf16=False)
    index = data.split_index(split)
    logits = predict_outputs(est.net, est._source(data, index, rt), rt, 256).astype(np.float64)
    return logits, np.asarray(data.catalog["redshift"], float)[index]


def pdfs(logits: np.ndarray, temperature: float) -> np.ndarray:
    return torch.softmax(torch.from_numpy(logits / temperature), dim=1).numpy()


def nll(logits: np.ndarray, z: np.ndarray, temperature: float, z_max: float) -> float:
    """Mean negative log-likelihood of the true bins (the training loss) at `temperature`."""
    logp = torch.log_softmax(torch.from_numpy(logits / temperature), dim=1).numpy()
    k = np.clip((z / z_max * logits.shape[1]).astype(int), 0, logits.shape[1] - 1)
    return float(-logp[np.arange(len(z)), k].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", default="sqlite:///mlruns/mlflow.db")
    parser.add_argument("--run", required=True)
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.uri)
    client = MlflowClient(args.uri)
    run = client.get_run(args.run)
    est = CNNEstimator.load(run_model_uri(client, args.run))
    cfg = est.net.model_cfg
    grid = z_grid(cfg.n_bins, cfg.z_max)
    data = run_dataset(run)
    (val, z_val), (test, z_test) = logits_of(est, data, "val"), logits_of(est, data, "test")

    dz = delta_z(point_estimates(pdfs(test, 1.0), grid)["zstar"], z_test)
    z_phot = dz * (1 + z_test) + z_test
    print(f"test z* bias {bias(dz):+.4f} ± {bias_error(dz):.4f} ({len(dz)} galaxies); per z_phot bin:")
    print("  z_phot bin   n      mean Δz   share of the total bias")
    for lo, hi in zip(ZPHOT_EDGES[:-1], ZPHOT_EDGES[1:]):
        sel = (z_phot >= lo) & (z_phot < hi)
        if sel.any():
            print(f"  {lo:.1f}-{hi:.1f}  {sel.sum():6d}  {dz[sel].mean():+.4f}   {dz[sel].sum() / len(dz):+.4f}")

    ts = np.linspace(0.7, 2.0, 27)
    fitted = float(ts[int(np.argmin([nll(val, z_val, t, cfg.z_max) for t in ts]))])
    print(f"temperature fitted on val (log-likelihood): T = {fitted:.2f}")
    print("  T      test bias            σ_MAD   η       PIT KS   val bias")
    for t in sorted({*TEMPERATURES, fitted}):
        p_test, p_val = pdfs(test, t), pdfs(val, t)
        d = delta_z(point_estimates(p_test, grid)["zstar"], z_test)
        dv = delta_z(point_estimates(p_val, grid)["zstar"], z_val)
        print(f"  {t:.2f}  {bias(d):+.4f} ± {bias_error(d):.4f}  {sigma_mad(d):.4f}  {100 * eta(d):5.1f} %  "
              f"{pit_ks(p_test, grid, z_test):.3f}    {bias(dv):+.4f} ± {bias_error(dv):.4f}")


if __name__ == "__main__":
    main()
