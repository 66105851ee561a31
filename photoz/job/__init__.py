"""The training job, the body of `python -m photoz.train`: one run start to finish (run.py),
resuming an interrupted run (resume.py), and the Optuna side of a sweep trial (sweep.py).
"""
