"""The default cache's backend (k12cloud.cache): Django's Redis cache with one client object per
connection pool, against the real Redis."""

from __future__ import annotations

import threading

from django.core.cache import cache, caches

from k12cloud.cache import RedisCache


def test_the_default_cache_is_the_reusing_backend() -> None:
    assert isinstance(caches["default"], RedisCache)


def test_the_client_is_built_once_per_pool_and_reused() -> None:
    backend = cache._cache  # type: ignore[attr-defined]
    first = backend.get_client("a", write=True)
    assert backend.get_client("b", write=True) is first
    assert backend.get_client("c", write=False) is backend.get_client("d", write=False)
    # one server: reads and writes share the pool, as with Django's client
    assert first.connection_pool is backend._get_connection_pool(True)


def test_cache_calls_behave_as_djangos() -> None:
    cache.delete_many(["backend-test", "backend-counter"])
    assert cache.add("backend-test", {"n": 1}, timeout=30) is True
    assert cache.add("backend-test", {"n": 2}, timeout=30) is False  # taken: SET NX
    assert cache.get("backend-test") == {"n": 1}
    cache.set("backend-counter", 1, timeout=30)
    assert cache.incr("backend-counter", 4) == 5
    assert cache.get_many(["backend-test", "backend-counter"]) == {
        "backend-test": {"n": 1},
        "backend-counter": 5,
    }
    assert cache.delete("backend-test") is True
    assert cache.get("backend-test") is None


def test_threads_using_the_cache_at_once_each_see_their_own_values() -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            own = caches["default"]
            for i in range(50):
                own.set(f"backend-thread-{n}", i, timeout=30)
                assert own.get(f"backend-thread-{n}") == i
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
