"""The one backoff of every retry: doubling from the base, capped, jittered in the upper half."""

import random
from datetime import timedelta

import pytest

from inbound.backoff import Backoff

BACKOFF = Backoff(base_seconds=2, max_seconds=60)


@pytest.mark.parametrize(
    ("failures", "ceiling"), [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (40, 60), (10**6, 60)]
)
def test_the_wait_doubles_per_failure_up_to_the_cap(failures: int, ceiling: float) -> None:
    rng = random.Random(7)
    waits = [BACKOFF.wait(failures, rng) for _ in range(200)]
    assert all(timedelta(seconds=ceiling / 2) <= w <= timedelta(seconds=ceiling) for w in waits)
    # Jittered: what failed together does not come back together.
    assert len(set(waits)) > 100


def test_a_count_of_no_failures_waits_as_the_first() -> None:
    wait = BACKOFF.wait(0, random.Random(1))
    assert timedelta(seconds=1) <= wait <= timedelta(seconds=2)
