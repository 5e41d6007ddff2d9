"""Serving's cache of online feature values (`store.OnlineCache`): what it reads from the store,
when, and what it answers. The store here is a counting lookup over a dict; the real store's
values through the same path are checked by the feature-store integration tests."""

from __future__ import annotations

from datetime import datetime

from nyctaxi.feature_store.store import READ_CHUNK, REFRESH_CHUNK, OnlineCache, request_keys, trip_keys


class Store:
    """A lookup that answers from ``values`` (None where absent) and records each call's keys."""

    def __init__(self, values: dict[tuple, float]) -> None:
        self.values = values
        self.calls: list[list[tuple]] = []
        self.down = False  # unreachable: a lookup raises

    def __call__(self, keys: list[dict]) -> list[dict]:
        if self.down:
            raise ConnectionError("online store unreachable")
        wanted = [(k["service"], k["pu_location_id"], k["hour_of_week"]) for k in keys]
        self.calls.append(wanted)
        return [{"trips_1w": self.values.get(k)} for k in wanted]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def key(zone: int, hour: int, service: str = "green") -> dict:
    return {"service": service, "pu_location_id": zone, "hour_of_week": hour}


def test_a_batch_reads_each_distinct_missing_key_once():
    store = Store({("green", 74, 8): 12.0, ("yellow", 74, 8): 40.0})
    cache = OnlineCache(store, ttl_s=60, timer=Clock())
    got = cache.get([key(74, 8), key(74, 8), key(74, 8, "yellow"), key(75, 8), key(74, 8)])
    assert [v["trips_1w"] for v in got] == [12.0, 12.0, 40.0, None, 12.0]
    assert store.calls == [[("green", 74, 8), ("yellow", 74, 8), ("green", 75, 8)]]
    # the next batch reads only what it has not seen; a value the store lacked stays "missing"
    got = cache.get([key(75, 8), key(74, 9), key(74, 8)])
    assert [v["trips_1w"] for v in got] == [None, None, 12.0]
    assert store.calls[1:] == [[("green", 74, 9)]]


class Spawned(list):
    """The cache's background work, held until the test runs it (``run``)."""

    def __call__(self, work) -> None:
        self.append(work)

    def run(self) -> None:
        while self:
            self.pop(0)()


def test_after_the_ttl_a_call_is_answered_from_memory_while_a_refresh_reads_the_store():
    store, clock, spawned = Store({("green", 74, 8): 12.0}), Clock(), Spawned()
    cache = OnlineCache(store, ttl_s=60, timer=clock, spawn=spawned)
    cache.get([key(74, 8), key(75, 8)])
    store.values[("green", 74, 8)] = 13.0  # a new month materialized
    clock.now = 59.0
    assert cache.get([key(74, 8)])[0]["trips_1w"] == 12.0 and not spawned
    clock.now = 60.5
    assert cache.get([key(74, 8)])[0]["trips_1w"] == 12.0  # not kept waiting: the value held
    assert cache.get([key(74, 8)])[0]["trips_1w"] == 12.0 and len(spawned) == 1  # one refresh at a time
    spawned.run()
    assert store.calls[1:] == [[("green", 74, 8), ("green", 75, 8)]]  # every held key, in one lookup
    assert cache.get([key(74, 8)])[0]["trips_1w"] == 13.0
    clock.now = 120.0  # the next check is ttl_s after the refresh ended, not after it began
    cache.get([key(74, 8)])
    assert not spawned


def test_with_a_version_the_store_is_read_again_only_when_it_changed():
    store, clock, spawned = Store({("green", 74, 8): 12.0}), Clock(), Spawned()
    version = {"now": 1}
    cache = OnlineCache(store, ttl_s=60, version=lambda: version["now"], timer=clock, spawn=spawned)
    cache.warm([key(74, 8)])
    assert cache.refresh() is False
    clock.now = 61.0
    cache.get([key(74, 8)])
    spawned.run()
    assert len(store.calls) == 1  # the warm read only: the version is the one it read at
    store.values[("green", 74, 8)], version["now"] = 13.0, 2
    clock.now = 122.0
    assert cache.get([key(74, 8)])[0]["trips_1w"] == 12.0
    spawned.run()
    assert cache.get([key(74, 8)])[0]["trips_1w"] == 13.0
    assert cache.refresh() is False and len(store.calls) == 2


def test_warm_reads_ahead_in_chunks_and_a_warmed_key_is_not_read_again():
    store = Store({("green", 74, 8): 12.0})
    cache = OnlineCache(store, ttl_s=60, timer=Clock())
    keys = [key(zone, hour) for zone in range(1, 101) for hour in range(168)]  # 16,800 keys
    cache.warm(keys)
    assert [len(call) for call in store.calls] == [READ_CHUNK, len(keys) - READ_CHUNK]
    assert len(cache) == len(keys)
    assert cache.get([key(74, 8), key(3, 0)]) == [{"trips_1w": 12.0}, {"trips_1w": None}]
    assert len(store.calls) == 2


def test_a_background_refresh_reads_in_small_lookups():
    store, clock, spawned = Store({}), Clock(), Spawned()
    cache = OnlineCache(store, ttl_s=60, timer=clock, spawn=spawned)
    cache.warm([key(zone, hour) for zone in range(1, 16) for hour in range(168)])  # 2,520 keys
    clock.now = 60.0
    cache.get([key(74, 8)])
    spawned.run()
    assert [len(call) for call in store.calls] == [2_520, 1] + [REFRESH_CHUNK, REFRESH_CHUNK, 521]


def test_a_failed_refresh_keeps_the_values_held_and_is_tried_again_after_the_ttl():
    store, clock, spawned = Store({("green", 74, 8): 12.0}), Clock(), Spawned()
    cache = OnlineCache(store, ttl_s=60, timer=clock, spawn=spawned)
    cache.get([key(74, 8)])
    store.down = True
    clock.now = 60.0
    cache.get([key(74, 8)])
    spawned.run()  # logged, not raised
    assert cache.get([key(74, 8)])[0]["trips_1w"] == 12.0 and not spawned
    store.down, store.values[("green", 74, 8)] = False, 13.0
    clock.now = 120.0
    cache.get([key(74, 8)])
    spawned.run()
    assert cache.get([key(74, 8)])[0]["trips_1w"] == 13.0


def test_request_keys_are_every_service_zone_and_hour_of_the_week():
    keys = {(k["service"], k["pu_location_id"], k["hour_of_week"]) for k in request_keys()}
    assert len(keys) == len(request_keys()) == 2 * 265 * 168
    assert ("yellow", 265, 167) in keys and ("green", 1, 0) in keys


def test_ttl_zero_reads_the_store_on_every_call():
    store = Store({("green", 74, 8): 12.0})
    cache = OnlineCache(store, ttl_s=0)
    for _ in range(3):
        assert cache.get([key(74, 8), key(74, 8)])[0]["trips_1w"] == 12.0
    assert len(store.calls) == 3


def test_an_answer_changed_by_the_caller_does_not_change_the_cache():
    cache = OnlineCache(Store({("green", 74, 8): 12.0}), ttl_s=60, timer=Clock())
    first = cache.get([key(74, 8), key(74, 8)])
    first[0]["trips_1w"] = -1.0
    assert [v["trips_1w"] for v in first] == [-1.0, 12.0]
    assert cache.get([key(74, 8)])[0]["trips_1w"] == 12.0


def test_trip_keys_use_the_hour_of_the_week_of_the_pickup():
    # 2025-03-03 is a Monday: 08:xx is hour 8 of the week (Monday 00:00 is hour 0)
    trips = [{"service": "green", "pu_location_id": 74, "pickup_at": datetime(2025, 3, 3, 8, 59)}]
    assert trip_keys(trips) == [key(74, 8)]
    trips[0]["pickup_at"] = datetime(2025, 3, 9, 23, 0)  # Sunday 23:00, the week's last hour
    assert trip_keys(trips)[0]["hour_of_week"] == 167
