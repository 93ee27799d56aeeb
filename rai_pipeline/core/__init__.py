"""Pure library: config, warehouse SQL, statistics, metrics, fairness, evidence."""
