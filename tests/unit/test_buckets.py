"""The in-memory token buckets of the rate limit, on a clock the test moves."""

from __future__ import annotations

from connector.buckets import Buckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_admitted_then_the_next_request_waits_one_interval() -> None:
    clock = Clock()
    buckets = Buckets(per_second=1, burst=10, clock=clock)
    assert [buckets.hit("e1") for _ in range(10)] == [None] * 10
    assert buckets.hit("e1") == 1
    clock.now += 1.0
    assert buckets.hit("e1") is None
    assert buckets.hit("e1") == 1


def test_the_sustained_rate_is_admitted_forever() -> None:
    clock = Clock()
    buckets = Buckets(per_second=50, burst=100, clock=clock)
    for _ in range(1000):
        clock.now += 0.02
        assert buckets.hit("e1") is None


def test_a_refused_request_is_not_counted_and_waits_round_up() -> None:
    clock = Clock()
    buckets = Buckets(per_second=0.5, burst=2, clock=clock)
    assert buckets.hit("e1") is None and buckets.hit("e1") is None
    assert buckets.hit("e1") == 2
    assert buckets.hit("e1") == 2  # refusals do not push the next admission further
    clock.now += 2.0
    assert buckets.hit("e1") is None


def test_keys_count_apart_and_test_does_not_count() -> None:
    clock = Clock()
    buckets = Buckets(per_second=1, burst=1, clock=clock)
    assert buckets.test("e1") is None and buckets.test("e1") is None
    assert buckets.hit("e1") is None
    assert buckets.test("e1") == 1
    assert buckets.hit("e2") is None


def test_failures_per_minute_refuse_the_next_after_the_budget() -> None:
    clock = Clock()
    buckets = Buckets(per_second=20 / 60, burst=20, clock=clock)
    for _ in range(20):
        assert buckets.test("10.0.0.1") is None
        buckets.hit("10.0.0.1")
    assert buckets.test("10.0.0.1") == 3
    clock.now += 3.0
    assert buckets.test("10.0.0.1") is None


def test_memory_stays_bounded_forgetting_the_oldest_keys() -> None:
    clock = Clock()
    buckets = Buckets(per_second=1, burst=1, size=3, clock=clock)
    for key in ("a", "b", "c", "d"):
        assert buckets.hit(key) is None
    assert buckets.hit("d") == 1
    assert buckets.hit("a") is None  # forgotten: a fresh bucket
