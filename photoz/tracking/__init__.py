"""Tracking: the MLflow store (SQLite file or server), the run lifecycle, what a run records, and
the end-of-run summary.

tracker.py (Tracker: experiment and run lifecycle), store.py (a safe SQLite store), remote.py (an
MLflow server as the store), liveness.py (run heartbeats), record.py (what a run logs),
summary.py (the run's description and the end-of-run summary).
"""
