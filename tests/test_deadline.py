"""The limit on one exchange is measured on the clock it is given."""

from __future__ import annotations

import time
import weakref

from assistant.deadline import Deadline

from .fakes import FakeClock


def _wait_until_expired(deadline: Deadline) -> bool:
    give_up = time.monotonic() + 60  # a guard against a hang, not a measure of speed
    while not deadline.expired and time.monotonic() < give_up:
        time.sleep(0.01)
    return deadline.expired


def test_the_limit_passes_when_the_clock_passes_it_not_before():
    clock = FakeClock()
    with Deadline(5, weakref.WeakSet(), clock) as deadline:
        clock.advance(4.9)
        time.sleep(0.2)  # the watchdog looks at the clock every 0.05 s
        assert not deadline.expired
        clock.advance(0.2)
        assert _wait_until_expired(deadline)


def test_a_finished_exchange_never_expires():
    clock = FakeClock()
    with Deadline(5, weakref.WeakSet(), clock) as deadline:
        pass
    clock.advance(10)
    time.sleep(0.2)
    assert not deadline.expired
