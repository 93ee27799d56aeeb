"""Aequitas on a predictions file, as its users run it: ``Group().get_crosstabs`` and
``Bias().get_disparity_major_group`` over the three attributes and their pairwise
intersections (joined columns, as Aequitas evaluates one column at a time).

Run by the bench with the Python of Aequitas' own virtual environment (:mod:`peers`), so it
imports nothing of rai-pipeline. Prints one line ``BENCH-RESULT <json>`` with its timings and
the point estimates the bench compares with rai's.

Usage: ``python aequitas_workload.py FILE``
"""

from __future__ import annotations

import json
import resource
import sys
import time

ATTRIBUTES = ("group_a", "group_b", "group_c")
PAIRS = (("group_a", "group_b"), ("group_a", "group_c"), ("group_b", "group_c"))
COMPARED = {  # Aequitas column -> rai metric
    "pprev": "selection_rate",
    "tpr": "true_positive_rate",
    "fpr": "false_positive_rate",
    "fnr": "false_negative_rate",
    "precision": "precision_score",
}


def main(path: str) -> None:
    started = time.perf_counter()
    import pandas as pd
    import pyarrow.parquet as pq  # installed beside Aequitas by the bench (peers.PARQUET)
    from aequitas.bias import Bias
    from aequitas.group import Group

    imported = time.perf_counter()
    data = pq.read_table(path, columns=["label", "decision", *ATTRIBUTES]).to_pandas()
    frame = pd.DataFrame({"score": data["decision"].astype(int)})
    frame["label_value"] = data["label"].astype(int)
    for name in ATTRIBUTES:  # a missing value is rai's group "unknown"
        frame[name] = data[name].astype(object).where(data[name].notna(), "unknown").astype(str)
    for a, b in PAIRS:
        frame[f"{a}&{b}"] = frame[a] + "&" + frame[b]
    del data
    loaded = time.perf_counter()
    crosstabs, _ = Group().get_crosstabs(frame)
    disparities = Bias().get_disparity_major_group(crosstabs, original_df=frame)
    done = time.perf_counter()
    values = {
        f"{row['attribute_name']}|{row['attribute_value']}|{metric}": float(row[column])
        for row in crosstabs.to_dict("records")
        for column, metric in COMPARED.items()
    }
    result = {
        "import_seconds": imported - started,
        "load_seconds": loaded - imported,
        "metric_seconds": done - loaded,
        "rows": len(disparities),
        "values": values,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print("BENCH-RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
