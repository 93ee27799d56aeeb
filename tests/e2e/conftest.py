"""One demo run per test session, shared by the end-to-end and browser tests."""

import pytest

from rai_pipeline.settings import RaiHome


@pytest.fixture(scope="session")
def demo(tmp_path_factory, dbt_manifest):
    from rai_pipeline.app.demo import run_demo

    home = RaiHome(tmp_path_factory.mktemp("rai_home"))
    lines: list[str] = []
    outcomes = run_demo(home, echo=lines.append)
    return home, outcomes, lines
