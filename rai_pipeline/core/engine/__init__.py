"""Warehouse SQL: identifier quoting, slice definitions, the one-scan sufficient statistics,
the exact AUC, paired cells of two versions, result tables. Rows stay in the warehouse;
what comes back is O(groups x bins). Imports ``stats`` only."""
