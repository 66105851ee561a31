"""Physics shared by the simulator and the estimators: SEDs through bandpasses (sed.py), dust and
IGM attenuation (attenuation.py).
"""
