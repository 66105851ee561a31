"""How many Gaussians simulator version 7's colours (those of data.sed_model=empirical, version 8) deconvolve cosmoDC2's training
photometry into: the two-fold cross-validated likelihood of the training file alone.

    python benchmarks/empirical_components.py              # K = 16, 32, 64, 128 (≈ 22 min on 2 loaded cores)
    python benchmarks/empirical_components.py --k 32 64

The training file's galaxies are split into alternate rows A and B; the extreme deconvolution
(photoz.data.simulate.deconvolution, ITERATIONS EM steps as the simulator's) is fitted on each half
and the other half's mean log-likelihood per galaxy (each galaxy's density under the mixture
convolved with its own noise) is printed with the mean of the two. The K with the highest mean
is photoz.data.simulate.empirical.N_COMPONENTS. The validation file is not read.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from photoz.data.simulate import deconvolution
from photoz.data.simulate.calibration import BANDS, read_training, training_path
from photoz.data.simulate.empirical import ITERATIONS, N_COMPONENTS, SEED, features


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, nargs="+", default=[16, 32, 64, 128], help="numbers of components to compare")
    args = ap.parse_args()
    z, _, flux, sigma = read_training(training_path())
    keep = flux[:, BANDS.index("i")] > 0
    x, noise = features(z[keep], flux[keep], sigma[keep])
    half = np.arange(len(x)) % 2
    print(f"{len(x)} training galaxies, halves of {int((half == 0).sum())} and {int((half == 1).sum())}; "
          f"{ITERATIONS} EM iterations; the simulator uses K = {N_COMPONENTS}")
    for k in args.k:
        start, scores = time.time(), []
        for fold in (0, 1):
            fit, score = half == fold, half != fold
            mix = deconvolution.fit(x[fit], noise[fit], k, ITERATIONS, SEED)
            scores.append(float(deconvolution.log_likelihood(x[score], noise[score], mix).mean()))
        print(f"K = {k:4d}: held-out ln L per galaxy {np.mean(scores):.4f} (halves {scores[0]:.4f}, {scores[1]:.4f}); "
              f"{time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
