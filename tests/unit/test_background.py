"""Work on a daemon thread: its result, or its exception, reaches whoever waits."""

import threading

import pytest

from rai_pipeline.app.background import in_background


def test_the_result_is_what_the_work_returned_on_its_own_daemon_thread():
    seen = {}

    def work():
        seen["thread"] = threading.current_thread()
        return 42

    wait = in_background(work, name="rai-test")
    assert wait() == 42
    assert seen["thread"].name == "rai-test" and seen["thread"].daemon
    assert seen["thread"] is not threading.current_thread()


def test_the_work_s_exception_is_raised_to_whoever_waits():
    def work():
        raise FileNotFoundError("preds.parquet")

    wait = in_background(work, name="rai-test")
    with pytest.raises(FileNotFoundError, match=r"preds\.parquet"):
        wait()
