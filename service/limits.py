"""Request rate limits and failed-authentication backoff, kept in this process's memory.

Three limits, all configured in `service.config.Settings`:

* per address: a token bucket of `rate_per_address` requests a minute for each client
  address (as the server sees it: behind a reverse proxy, run uvicorn with
  `--proxy-headers --forwarded-allow-ips=<proxy>` so that it is the caller's);
* per principal: a bucket of `rate_per_principal` requests a minute for each principal,
  charged once its token is known (`service.deps.get_principal`);
* failed authentication: an address that failed `auth_failures_allowed` times within
  `auth_failure_window_s` waits 1 s before its next try, then 2 s, 4 s ... up to
  `auth_backoff_max_s`. 256-bit tokens cannot be guessed; the backoff keeps a token
  stuffer, or a script with a revoked token, from costing the hub a lookup per request.

The state lives in one process: a hub run as several processes enforces each limit per
process. A bucket idle long enough to be full again is forgotten, so the tables stay small.
"""

import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from service.config import Settings

Clock = Callable[[], float]
_PRUNE_AT = 10_000  # keys held before idle (full) buckets are forgotten


class TokenBuckets:
    """One token bucket per key: `per_minute` tokens, refilled evenly over a minute."""

    def __init__(self, per_minute: int, clock: Clock = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill_per_s = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()  # charged from the event loop and from worker threads

    def take(self, key: Hashable) -> float:
        """Take a token for `key`: 0.0 when one was there, else the seconds until there is."""
        if self.capacity <= 0:
            return 0.0  # no limit configured
        with self._lock:
            now = self.clock()
            tokens = self._level(key, now)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.refill_per_s
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > _PRUNE_AT:
                self._prune(now)
            return 0.0

    def _level(self, key: Hashable, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.capacity, now))
        return min(self.capacity, tokens + (now - at) * self.refill_per_s)

    def _prune(self, now: float) -> None:
        full = [key for key in self._buckets if self._level(key, now) >= self.capacity]
        for key in full:
            del self._buckets[key]


@dataclass(slots=True)
class _Failures:
    count: int
    last_at: float
    blocked_until: float


class AuthBackoff:
    """Failed authentications per address, and how long each address must wait."""

    def __init__(
        self, *, allowed: int, window_s: float, max_wait_s: float, clock: Clock = time.monotonic
    ) -> None:
        self.allowed = allowed
        self.window_s = window_s
        self.max_wait_s = max_wait_s
        self.clock = clock
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def wait_s(self, address: str) -> float:
        """Seconds `address` must still wait before it may try again (0.0: it may)."""
        with self._lock:
            failures = self._failures.get(address)
            return max(0.0, failures.blocked_until - self.clock()) if failures else 0.0

    def failed(self, address: str) -> None:
        """Count a failed authentication; past the allowance, block for a doubling time."""
        with self._lock:
            now = self.clock()
            failures = self._failures.get(address)
            if failures is None or now - failures.last_at > self.window_s:
                failures = self._failures[address] = _Failures(0, now, now)
            failures.count += 1
            failures.last_at = now
            beyond = failures.count - self.allowed
            if beyond > 0:
                failures.blocked_until = now + min(2.0 ** (beyond - 1), self.max_wait_s)
            if len(self._failures) > _PRUNE_AT:
                self._prune(now)

    def _prune(self, now: float) -> None:
        stale = [key for key, item in self._failures.items() if now - item.last_at > self.window_s]
        for key in stale:
            del self._failures[key]


class Limits:
    """The hub's limits: per-address and per-principal buckets, and the auth backoff."""

    def __init__(self, settings: Settings, clock: Clock = time.monotonic) -> None:
        self.addresses = TokenBuckets(settings.rate_per_address, clock)
        self.principals = TokenBuckets(settings.rate_per_principal, clock)
        self.backoff = AuthBackoff(
            allowed=settings.auth_failures_allowed,
            window_s=settings.auth_failure_window_s,
            max_wait_s=settings.auth_backoff_max_s,
            clock=clock,
        )

    def address_wait_s(self, address: str) -> float:
        """Seconds before a request from `address` is admitted (0.0: now); charges it."""
        blocked = self.backoff.wait_s(address)
        return blocked if blocked > 0 else self.addresses.take(address)


def retry_after(wait_s: float) -> int:
    """A wait as the whole seconds of a Retry-After header (at least 1)."""
    return max(1, math.ceil(wait_s))
