"""Runs first in every registry process a test starts (tests/helpers.py's registry_env puts
this folder on PYTHONPATH): the registry's clock reads REGISTRY_TEST_CLOCK (an ISO instant)
when the process starts, and runs on from there, as registry.clock.set does in the tests.

Only the registry's clock moves, the one source of dates and stored times: the process's own
clock, its sleeps, timeouts and file times stay real. gunicorn's workers fork from the
process that read it and keep it.
"""

import os

_at = os.environ.get("REGISTRY_TEST_CLOCK")
if _at:
    from datetime import datetime

    from registry import clock

    clock.set(datetime.fromisoformat(_at))
