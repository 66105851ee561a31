"""Per-galaxy predictions and what is computed from them: the Predictions table and the redshift
grid (table.py), PDF arithmetic (pdf.py), the metrics (metrics.py), qp I/O (qpio.py), prediction
shards (shards.py) and the figures of a run (plots.py).
"""
