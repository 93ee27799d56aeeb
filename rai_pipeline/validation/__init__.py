"""Measured error rates of the statistics: seeded simulations from known truth.

Each study draws many independent data sets from a design whose true rates are known, runs the
functions an evaluation runs (``slice_metrics_from_stats``, ``fairness_metrics_from_slices``,
``compare_versions``, ``calibration_curves``) and counts how often the intervals hold the truth
and how often each verdict is reached. The test suite runs the studies with few replicates and
asserts the targets; ``make validate`` runs them with many and writes the table in
``docs/statistics.md``. Imports ``core`` only.
"""
