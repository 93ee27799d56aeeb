"""Metrics from the engine's aggregates: per-slice metrics with intervals, disparities and
their verdicts, pairwise comparisons, threshold curves, calibration, version comparison.
A new metric goes here. Imports ``stats``, ``config`` and ``engine``."""
