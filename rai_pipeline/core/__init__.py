"""The pure library: every rule of an evaluation, free of orchestration and services.

Packages, lowest first (a package imports only those above it in this list, and never
Dagster, MLflow or Great Expectations; ``make lint`` checks both):

- ``stats``: statistical methods on counts (intervals, claims, bootstrap, multiple testing).
- ``engine``: the warehouse SQL (identifiers, slices, one-scan statistics, exact AUC, paired
  cells) and the result tables.
- ``config``: the evaluation config, validated, and the YAML file rules it shares.
- ``schemas``: the evaluation frame's rules (pandera schema, expectation suites).
- ``landing``: content-addressed extracts of the evaluation data.
- ``metrics``: metrics, disparities, curves, calibration, version comparison, from aggregates.
- ``governance``: dispositions, the release gate, the model-registry vocabulary.
- ``evidence``: documents, the manifest, publication and verification of evidence packs.

``evaluation`` holds the calls that the pipeline and ``rai evaluate-file`` share.
"""
