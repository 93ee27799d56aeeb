"""The end-to-end tests share the session's demo run (``demo``, in tests/conftest.py)."""
