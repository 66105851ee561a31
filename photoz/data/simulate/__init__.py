"""The GalSim simulator of LSST-like cutouts (the default data set) and catalogue-driven rendering.

lsst.py (survey numbers and noise), population.py (n(z), magnitudes, morphology), sed.py (CWW
SEDs through LSST bandpasses), render.py (stamps, PSF, noise, photometry), catalog.py (a user's
table as truth), build.py (workers, cache, writer).
"""
