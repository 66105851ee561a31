"""Draw bulge + disk galaxies per band with GalSim, add LSST noise, measure aperture photometry.

Profiles are achromatic per band, so each galaxy needs GalSim only twice: the k-space images of
its unit-flux bulge (de Vaucouleurs) and disk (exponential). Each band's image is then
(f_bulge K_bulge + f_disk K_disk) × K_psf,band, with K_psf = Kolmogorov(FWHM_geom,band) ⊗ pixel,
transformed back by one batched inverse FFT on a grid 1.5 times the stamp size (periodic: only
flux more than one stamp side from the centre wraps into the stamp). With a fixed PSF, K_psf is
drawn once per process; with a FWHM per galaxy and band (photoz.data.simulate.conditions) it is
GalSim's Kolmogorov transfer function exp(−c (k λ/r0)^(5/3)), evaluated per galaxy on the same
grid (its constants read from GalSim). A neighbour (a blend) adds its own bulge and disk shifted by
its offset, a phase factor in k-space, under the same PSF. Pixels are nJy; the galaxy centre is
pixel (stamp_size // 2, stamp_size // 2).
"""

from __future__ import annotations

import galsim
import numpy as np
from astropy.table import Table

from photoz.data.simulate.lsst import PIXEL_SCALE, noise_model, psf, psf_fwhm_geom_of

PAD = 1.5  # FFT grid ≈ PAD × stamp size: wrapped flux comes only from beyond one stamp side
SHAPES = ("true_hlr", "true_q", "true_beta", "true_bulge_hlr", "true_bulge_q")  # columns of `noiseless`'s shapes
GAUSS_ABOVE = 1000.0  # sky electrons per pixel above which Poisson noise is drawn as Gaussian


class Renderer:
    """Stamps of one configuration: bands, stamp size, depth and photometry aperture."""

    def __init__(self, bands: list[str], stamp_size: int, depth: str, aperture_radius: float) -> None:
        self.bands, self.size = list(bands), int(stamp_size)
        self.n_fft = 2 * int(np.ceil(PAD * self.size / 2))  # even, for the rFFT half plane
        half = self.n_fft // 2  # k_x in [0, half], k_y in [-half, half): numpy's rFFT half plane
        dk = 2 * np.pi / (self.n_fft * PIXEL_SCALE)
        self._kbuf = galsim.ImageCD(galsim.BoundsI(0, half, -half, half - 1), scale=dk)
        pixel = galsim.Pixel(PIXEL_SCALE)
        self.psf_k = np.stack([self._kimage(galsim.Convolve(psf(b), pixel)) for b in bands])
        self.pixel_k = self._kimage(pixel)
        self.ky = np.fft.fftfreq(self.n_fft, 1.0 / self.n_fft)[:, None] * dk  # rad/arcsec, rFFT row order
        self.kx = np.arange(half + 1)[None, :] * dk
        unit = galsim.Kolmogorov(fwhm=1.0)  # T(k) = exp(-c (k lam_over_r0)^(5/3)), lam_over_r0 ∝ FWHM
        self._kolmogorov = (-np.log(unit.kValue(galsim.PositionD(1.0, 0.0)).real) / unit.lam_over_r0 ** (5 / 3),
                            unit.lam_over_r0)
        self.gain, self.sky, self.extra = noise_model(self.bands, depth)
        yy, xx = np.mgrid[: self.size, : self.size] - self.size // 2
        self.aperture = np.hypot(xx, yy) <= aperture_radius / PIXEL_SCALE

    def _kimage(self, profile: galsim.GSObject) -> np.ndarray:
        """The profile's k-space half plane (k_x >= 0) in numpy rFFT order, complex64."""
        profile.drawKImage(image=self._kbuf, recenter=False)
        return np.fft.ifftshift(self._kbuf.array, axes=0).astype(np.complex64)

    def psf_kimages(self, fwhm_eff: np.ndarray) -> np.ndarray:
        """(n, C, ky, kx) PSF ⊗ pixel transfer functions for per-galaxy FWHM_eff (n, C) in arcsec."""
        coeff, lam_over_r0 = self._kolmogorov
        scale = (lam_over_r0 * psf_fwhm_geom_of(np.asarray(fwhm_eff, float))) ** (5 / 3)  # (n, C)
        k53 = np.hypot(self.kx, self.ky) ** (5 / 3)
        return (np.exp(-coeff * scale[..., None, None] * k53) * self.pixel_k).astype(np.complex64)

    def _galaxy_k(self, shapes: np.ndarray, flux_bulge: np.ndarray, flux_disk: np.ndarray) -> np.ndarray:
        """(n, C, ky, kx) k-space images of bulge + disk galaxies before the PSF."""
        n, c = flux_bulge.shape
        k = np.zeros((n, c, *self.psf_k.shape[1:]), np.complex64)
        fb, fd = flux_bulge.astype(np.float32)[..., None, None], flux_disk.astype(np.float32)[..., None, None]
        for j, (hlr, q, beta, bulge_hlr, bulge_q) in enumerate(shapes.tolist()):
            beta = beta * galsim.radians
            bulge = galsim.DeVaucouleurs(half_light_radius=bulge_hlr).shear(q=bulge_q, beta=beta)
            disk = galsim.Exponential(half_light_radius=hlr).shear(q=q, beta=beta)
            k[j] = fb[j] * self._kimage(bulge) + fd[j] * self._kimage(disk)
        return k

    def noiseless(self, shapes: np.ndarray, flux_bulge: np.ndarray, flux_disk: np.ndarray,
                  psf_fwhm: np.ndarray | None = None, neighbours: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """(n, C, S, S) float32 noiseless stamps in nJy from (n, 5) shapes (columns SHAPES: disk
        hlr, q, position angle in radians, bulge hlr, q) and (n, C) fluxes in nJy. `psf_fwhm`: (n, C)
        FWHM_eff per galaxy (else the bands' fixed PSF); `neighbours`: index (k,) into the n stamps,
        their shapes (k, 5), bulge and disk fluxes (k, C) and offsets (k, 2) (dx, dy in arcsec)."""
        k = self._galaxy_k(shapes, flux_bulge, flux_disk)
        if neighbours is not None and len(neighbours["index"]):
            dx, dy = (np.asarray(neighbours["offset"], float)[:, j, None, None] for j in (0, 1))
            phase = np.exp(-1j * (self.kx * dx + self.ky * dy)).astype(np.complex64)  # shift by (dx, dy)
            k[neighbours["index"]] += self._galaxy_k(neighbours["shapes"], neighbours["bulge"], neighbours["disk"]) * phase[:, None]
        k *= self.psf_k if psf_fwhm is None else self.psf_kimages(psf_fwhm)
        full = np.fft.fftshift(np.fft.irfft2(k, s=(self.n_fft, self.n_fft)), axes=(-2, -1))
        lo = self.n_fft // 2 - self.size // 2
        return full[..., lo : lo + self.size, lo : lo + self.size]

    def observe(self, model: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Noisy float32 stamps (nJy, sky subtracted) and the per-pixel variance (nJy²).

        Electrons = Poisson(galaxy + sky) + Gaussian(extra variance), minus the mean sky. Bands whose
        sky exceeds GAUSS_ABOVE electrons per pixel draw the Poisson part as a Gaussian of equal
        mean and variance (indistinguishable there, and four times faster)."""
        gain, sky, extra = (a[None, :, None, None] for a in (self.gain, self.sky, self.extra))
        mean = np.clip(model, 0.0, None) * gain + sky
        noise = rng.standard_normal(model.shape) * np.sqrt(mean + extra)
        small = self.sky < GAUSS_ABOVE
        if small.any():
            noise[:, small] = rng.poisson(mean[:, small]) - mean[:, small] + rng.standard_normal(noise[:, small].shape) * np.sqrt(extra[:, small])
        return (model + noise / gain).astype(np.float32), (mean + extra) / gain**2

    def photometry(self, images: np.ndarray, variance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fixed circular-aperture flux and its error from the known noise, (n, C) nJy."""
        flux = images[..., self.aperture].sum(-1, dtype=np.float64)
        return flux, np.sqrt(variance[..., self.aperture].sum(-1))


def shape_array(truth: Table) -> np.ndarray:
    """The (n, 5) SHAPES columns of a truth table, as `Renderer.noiseless` takes them."""
    return np.stack([np.asarray(truth[c], float) for c in SHAPES], axis=1)
