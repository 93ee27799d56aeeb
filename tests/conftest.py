"""Test setup: telemetry off before anything imports MLflow, dbt, Dagster or GE; how the
suite is shared between pytest-xdist workers (``make test`` runs one per core).

Each test module runs whole on one worker, so its module fixtures (a PostgreSQL server, a
trained model) start once; every module that uses the session's demo (:func:`demo`) runs on
the worker that ran it, so the demo runs once; modules marked ``slow`` are handed out first,
so that no long module starts last while the other worker sits idle.
"""

import os

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
os.environ["GX_ANALYTICS_ENABLED"] = "False"
os.environ["DO_NOT_TRACK"] = "1"

if os.environ.get("PYTEST_XDIST_WORKER"):
    # A pytest-xdist worker runs as `python -c`: its __main__ has neither __spec__ nor
    # __file__, which pyspark.sql.connect (imported by Great Expectations when pyspark is
    # installed) takes for a doctest run, and it exits the process. A spec named __main__ is
    # what `python -m` gives, and multiprocessing's spawn leaves such a main alone.
    import importlib.machinery
    import sys

    _main = sys.modules["__main__"]
    if _main.__spec__ is None and not hasattr(_main, "__file__"):
        _main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """The dbt manifest the Dagster definitions load (built by ``dbt parse`` if stale)."""
    from rai_pipeline.defs.dbt.prepare import ensure_dbt_manifest

    return ensure_dbt_manifest()


@pytest.fixture(scope="session")
def demo(tmp_path_factory, dbt_manifest):
    """One demo run per test session, shared by the end-to-end, browser and reliability
    tests: its RAI_HOME, the version outcomes and the printed lines."""
    from rai_pipeline.app.demo import run_demo
    from rai_pipeline.settings import RaiHome

    home = RaiHome(tmp_path_factory.mktemp("rai_home"))
    lines: list[str] = []
    outcomes = run_demo(home, echo=lines.append)
    return home, outcomes, lines


# The modules that use the session's demo (:func:`demo`): they run on one worker, which runs
# the demo once. Checked against the fixtures the modules use at every collection.
DEMO_MODULES = frozenset(
    {
        "tests/e2e/test_audit_trail.py",
        "tests/e2e/test_cli_on_demo.py",
        "tests/e2e/test_demo_pipeline.py",
        "tests/e2e/test_provenance.py",
        "tests/e2e/test_report_in_browser.py",
        "tests/e2e/test_ui_lineage.py",
        "tests/explain/test_importance_in_pack.py",
        "tests/monitoring/test_monitor_pipeline.py",
        "tests/monitoring/test_monitoring_evidence.py",
        "tests/monitoring/test_monitoring_page.py",
        "tests/monitoring/test_warehouse_counts.py",
        "tests/reliability/test_anchored_manifest.py",
        "tests/reliability/test_warehouse_lock.py",
    }
)
DEMO_GROUP = "the demo"


def work_group(nodeid: str) -> str:
    """The unit of work an xdist worker takes whole: the module, or the demo's modules."""
    module = nodeid.split("::", 1)[0]
    return DEMO_GROUP if module in DEMO_MODULES else module


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Check :data:`DEMO_MODULES` and put the groups that hold a ``slow`` module first;
    otherwise the order is kept."""
    modules = {item.nodeid.split("::", 1)[0] for item in items}
    using = {
        item.nodeid.split("::", 1)[0]
        for item in items
        if "demo" in getattr(item, "fixturenames", ())
    }
    if using != DEMO_MODULES & modules:
        raise pytest.UsageError(
            "tests/conftest.py: DEMO_MODULES must list exactly the modules that use the demo "
            f"fixture; add {sorted(using - DEMO_MODULES)}, "
            f"remove {sorted((DEMO_MODULES & modules) - using)}"
        )
    slow = {work_group(item.nodeid) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: work_group(item.nodeid) not in slow)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """pytest-xdist hands out whole groups (:func:`work_group`) in collection order."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_group(nodeid)

    config.option.loadscopereorder = False  # keep the slow groups first
    return GroupScheduling(config, log)
