"""The GalSim simulator of LSST-like cutouts (the default data set) and catalogue-driven rendering.

lsst.py (survey numbers and noise), population.py (n(z), magnitudes, morphology), evolution.py and
cosmos.py (simulator version 4: classes, star formation, dust, sizes; COSMOS SEDs), calibration.py,
calibration_cache.py and calibrated.py (versions 5 and 6: the SED population and, from version 6,
n(z | i) calibrated on cosmoDC2's training sample, cached by content, and drawn from), empirical.py
and deconvolution.py (version 7: ugrizy fluxes from the extreme-deconvolution density of that
sample's photometry, its fitted mixture shipped as empirical_mixture.npz), matched.py (version 8,
data.sed_model=empirical, the default: those fluxes on version 6 galaxies matched by colour rank),
templates.py
(SED libraries through the LSST bandpasses), fluxes.py and realistic.py (versions 2 and 3's CWW
SEDs), conditions.py (PSF per stamp, blends), truth.py (galaxies and neighbours), render.py
(stamps, PSF, noise, photometry), catalog.py (a user's table as truth), build.py (workers, cache,
writer).
"""
