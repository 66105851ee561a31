"""Extreme deconvolution (Bovy, Hogg & Roweis 2011, Annals of Applied Statistics 5, 1657): the
Gaussian mixture whose convolution with each point's own Gaussian noise best explains noisy data,
fitted by their EM; and draws from the mixture conditioned on some of its dimensions.

Used by photoz.data.simulate.empirical (data.sed_model=empirical) to learn the noise-free joint
distribution of cosmoDC2 galaxies' redshift, i magnitude and band-flux ratios.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COVARIANCE_FLOOR = 1e-6  # added to every component's covariance each step (keeps it positive definite)


@dataclass(frozen=True)
class Mixture:
    """K Gaussian components in D dimensions."""

    weights: np.ndarray  # (K,)
    means: np.ndarray  # (K, D)
    covs: np.ndarray  # (K, D, D)


def _start(x: np.ndarray, k: int, seed: int) -> Mixture:
    """k-means++ clusters of the data: their fractions, centres and covariances (deterministic)."""
    from scipy.cluster.vq import kmeans2

    centres, label = kmeans2(x, k, seed=np.random.default_rng(seed), minit="++")
    eye = COVARIANCE_FLOOR * np.eye(x.shape[1])
    covs = np.array([np.cov(x[label == j].T) + eye if (label == j).sum() > x.shape[1] else np.cov(x.T) + eye for j in range(k)])
    count = np.bincount(label, minlength=k) + 1.0
    return Mixture(count / count.sum(), centres, covs)


def _log_densities(x: np.ndarray, noise: np.ndarray, mix: Mixture) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, K) log π_k N(x_n | m_k, V_k + S_n), with the (N, K, D, D) inverse of V_k + S_n and (N, K, D) x_n − m_k."""
    total = mix.covs[None] + noise[:, None]
    inverse = np.linalg.inv(total)
    diff = x[:, None] - mix.means[None]
    maha = np.einsum("nki,nkij,nkj->nk", diff, inverse, diff)
    log_det = np.linalg.slogdet(total)[1]
    return np.log(mix.weights)[None] - 0.5 * (maha + log_det + x.shape[1] * np.log(2 * np.pi)), inverse, diff


def _responsibilities(logp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) posterior component probabilities and (N,) log-likelihood per point."""
    top = logp.max(axis=1, keepdims=True)
    ll = top[:, 0] + np.log(np.exp(logp - top).sum(axis=1))
    return np.exp(logp - ll[:, None]), ll


def log_likelihood(x: np.ndarray, noise: np.ndarray, mix: Mixture) -> np.ndarray:
    """(N,) log density of each noisy point under the mixture convolved with its noise."""
    return _responsibilities(_log_densities(x, noise, mix)[0])[1]


def fit(x: np.ndarray, noise: np.ndarray, k: int, iterations: int, seed: int = 0) -> Mixture:
    """The K-component extreme deconvolution of points x (N, D) with noise covariances (N, D, D):
    `iterations` EM steps from a k-means++ start (deterministic for a given seed)."""
    mix = _start(x, k, seed)
    for _ in range(iterations):
        logp, inverse, diff = _log_densities(x, noise, mix)
        q = _responsibilities(logp)[0]
        gain = np.einsum("kij,nkjl->nkil", mix.covs, inverse)  # V_k (V_k + S_n)^-1
        b = mix.means[None] + np.einsum("nkij,nkj->nki", gain, diff)  # E[true x | n, k]
        spread = mix.covs[None] - np.einsum("nkij,kjl->nkil", gain, mix.covs)  # its covariance
        qk = q.sum(axis=0)
        means = np.einsum("nk,nki->ki", q, b) / qk[:, None]
        d = b - means[None]
        covs = (np.einsum("nk,nki,nkj->kij", q, d, d) + np.einsum("nk,nkij->kij", q, spread)) / qk[:, None, None]
        mix = Mixture(qk / len(x), means, covs + COVARIANCE_FLOOR * np.eye(x.shape[1]))
    return mix


def sample_conditional(rng: np.random.Generator, mix: Mixture, given: np.ndarray, n_given: int) -> np.ndarray:
    """Draws of the last D − n_given dimensions given the first n_given ones (n, n_given): a component
    by its weight times its density at `given`, then its Gaussian conditioned on `given`."""
    g, o = slice(0, n_given), slice(n_given, None)
    vgg, vog, voo = mix.covs[:, g, g], mix.covs[:, o, g], mix.covs[:, o, o]
    inverse = np.linalg.inv(vgg)
    diff = given[:, None] - mix.means[None, :, g]  # (n, K, n_given)
    maha = np.einsum("nki,kij,nkj->nk", diff, inverse, diff)
    p = _responsibilities(np.log(mix.weights)[None] - 0.5 * (maha + np.linalg.slogdet(vgg)[1][None]))[0]
    comp = np.minimum((np.cumsum(p, axis=1) < rng.uniform(size=len(given))[:, None]).sum(axis=1), len(mix.weights) - 1)
    gain = np.einsum("kij,kjl->kil", vog, inverse)
    mean = mix.means[comp, o] + np.einsum("nij,nj->ni", gain[comp], diff[np.arange(len(comp)), comp])
    chol = np.linalg.cholesky(voo - np.einsum("kij,klj->kil", gain, vog))
    return mean + np.einsum("nij,nj->ni", chol[comp], rng.normal(size=mean.shape))
