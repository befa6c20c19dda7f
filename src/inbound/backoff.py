"""Exponential backoff with jitter, for every retry of a call to someone else's server: webhook
deliveries and the CRM sync."""

import random
from dataclasses import dataclass
from datetime import timedelta

# 2**62 times any base is past any cap: the exponent stops there, so that a count of failures
# that keeps growing never overflows a float.
MAX_DOUBLINGS = 62


@dataclass(frozen=True, slots=True)
class Backoff:
    """A wait that doubles with each failure in a row, from ``base_seconds`` up to
    ``max_seconds``."""

    base_seconds: float
    max_seconds: float

    def wait(self, failures: int, rng: random.Random) -> timedelta:
        """The pause after the ``failures``-th failure in a row (1 for the first): a random
        point in the upper half of the doubled wait, so that what failed together spreads
        out."""
        doublings = min(max(failures - 1, 0), MAX_DOUBLINGS)
        ceiling = min(self.max_seconds, self.base_seconds * 2**doublings)
        return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))
