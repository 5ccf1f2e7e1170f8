"""One budget in Redis for every client sharing a token: a real redis-server process, the
bundled server enforcing a sliding-window budget, real sockets.

The tests marked ``redis`` run in ``nox -s redis`` (one Python); ``nox -s tests``
deselects them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from polar_links import InvalidArgumentError, Polar, RateLimit, SyncPolar
from polar_links._ratelimit import Throttle
from polar_links._shared_budget import SharedThrottle, budget_key
from polar_links.cli import main
from polar_links.testing import PolarTestServer

from .conftest import eventually
from .redis_process import RedisProcess, free_port

TOKEN_B = "polar_oat_second_token_for_the_key_test"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server process; a missing binary fails the test under ``nox -s redis``
    (POLAR_LINKS_REQUIRE_REDIS) and skips it elsewhere."""
    try:
        server = RedisProcess(tmp_path)
    except FileNotFoundError as exc:
        if os.environ.get("POLAR_LINKS_REQUIRE_REDIS"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def redis_client(redis_server: RedisProcess) -> AsyncIterator[Any]:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def server() -> Iterator[PolarTestServer]:
    with PolarTestServer(links=300, read_only_token=TOKEN_B).run_in_thread() as running:
        yield running


def statuses(server: PolarTestServer) -> list[int]:
    return [r.status for r in server.requests]


def shared_client(server: PolarTestServer, url: str, **options: Any) -> Polar:
    options.setdefault("rate_limit", RateLimit(requests=server.budget.requests or 1, per=1.0))
    return Polar(server.token, base_url=server.base_url, redis_url=url, **options)


# ------------------------------------------------------------------ no Redis needed


@pytest.mark.parametrize("url", ["http://localhost:6379", "localhost:6379", "redis:/x"])
def test_a_redis_url_that_is_not_one_is_rejected_before_any_request(url: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        Polar("polar_oat_x", redis_url=url)
    assert str(info.value) == (
        f"redis_url must be a redis://, rediss:// or unix:// URL, got {url!r}"
    )


def test_the_sync_client_takes_redis_url_too() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        SyncPolar("polar_oat_x", redis_url="localhost:6379")
    assert str(info.value) == (
        "redis_url must be a redis://, rediss:// or unix:// URL, got 'localhost:6379'"
    )


def test_a_bad_redis_url_is_shown_without_its_password() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        Polar("polar_oat_x", redis_url="http://user:hunter2@example.com:6379")
    assert "hunter2" not in str(info.value)
    assert "example.com:6379" in str(info.value)


def test_a_bad_polar_redis_url_is_named_as_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLAR_REDIS_URL", "localhost:6379")
    with pytest.raises(InvalidArgumentError) as info:
        Polar("polar_oat_x")
    assert str(info.value) == (
        "POLAR_REDIS_URL must be a redis://, rediss:// or unix:// URL, got 'localhost:6379'"
    )
    assert type(Polar("polar_oat_x", redis_url="")._transport.throttle) is Throttle


def test_the_cli_names_a_bad_polar_redis_url_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POLAR_REDIS_URL", "http://user:hunter2@localhost:6379")
    code = main(["list", "--token", "polar_oat_x", "--base-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2
    assert "POLAR_REDIS_URL must be a redis://, rediss:// or unix:// URL" in err
    assert "hunter2" not in err


def test_the_shared_budget_without_the_redis_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(InvalidArgumentError) as info:
        Polar("polar_oat_x", redis_url="redis://127.0.0.1:6379/0")
    assert str(info.value) == (
        "redis_url (or POLAR_REDIS_URL) needs the redis client: pip install 'polar-links[redis]'"
    )


def test_budget_keys_are_a_hash_per_token_never_the_token() -> None:
    first, second = budget_key("polar_oat_first"), budget_key("polar_oat_second")
    assert first != second
    assert first == budget_key("polar_oat_first")
    assert first.startswith("polar-links:{")
    assert first.endswith("}")
    assert "polar_oat" not in first + second


# ------------------------------------------------------------------ a real redis-server


@pytest.mark.redis
def test_redis_url_defaults_to_the_environment_variable_and_empty_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POLAR_REDIS_URL", "redis://127.0.0.1:6379/0")
    assert isinstance(Polar("polar_oat_x")._transport.throttle, SharedThrottle)
    assert type(Polar("polar_oat_x", redis_url="")._transport.throttle) is Throttle
    monkeypatch.setenv("POLAR_REDIS_URL", "")  # empty counts as unset
    assert type(Polar("polar_oat_x")._transport.throttle) is Throttle
    monkeypatch.delenv("POLAR_REDIS_URL")
    assert type(Polar("polar_oat_x")._transport.throttle) is Throttle


@pytest.mark.redis
async def test_many_clients_in_one_process_draw_from_one_budget_with_no_429(
    server: PolarTestServer, redis_server: RedisProcess
) -> None:
    server.budget.requests, server.budget.per = 20, 1.0
    expected = server.store.expected_order()

    async def walk() -> list[str]:
        async with shared_client(server, redis_server.url, concurrency=4) as polar:
            return [link.id async for link in polar.checkout_links.list(limit=20)]

    walks = await asyncio.gather(*(walk() for _ in range(4)))
    assert walks == [expected] * 4
    # Each client alone would send 20 requests per second; together they sent 20.
    assert statuses(server) == [200] * 60


@pytest.mark.redis
def test_the_cli_waits_for_a_429_pause_shared_through_polar_redis_url(
    server: PolarTestServer,
    redis_server: RedisProcess,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    try:  # another worker with this token got a 429: everyone pauses for 1.5 s
        client.set(f"{budget_key(server.token)}:cooldown", "1", px=1500)
    finally:
        client.close()
    monkeypatch.setenv("POLAR_REDIS_URL", redis_server.url)
    started = time.monotonic()
    code = main(["list", "--token", server.token, "--base-url", server.base_url, "--limit", "100"])
    assert code == 0
    assert len(capsys.readouterr().out.splitlines()) == 300
    assert server.requests[0].time - started >= 1.4


@pytest.mark.redis
def test_the_sync_client_draws_from_the_shared_budget(
    server: PolarTestServer, redis_server: RedisProcess
) -> None:
    import redis

    budget = RateLimit(requests=50, per=1.0)
    with SyncPolar(
        server.token, base_url=server.base_url, rate_limit=budget, redis_url=redis_server.url
    ) as polar:
        assert len(list(polar.checkout_links.list(limit=100))) == 300
    client = redis.Redis.from_url(redis_server.url)
    try:  # its three page requests were counted in the token's shared window
        assert client.zcard(f"{budget_key(server.token)}:window") == 3
    finally:
        client.close()


WORKER = """
import asyncio, sys
from polar_links import Polar, RateLimit

async def main(base_url, token):
    # The shared budget comes from POLAR_REDIS_URL alone.
    async with Polar(token, base_url=base_url, rate_limit=RateLimit(20, per=1.0)) as polar:
        ids = [link.id async for link in polar.checkout_links.list(limit=20)]
    print(len(ids), len(set(ids)))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.redis
def test_several_processes_draw_from_one_budget_with_no_429(
    server: PolarTestServer, redis_server: RedisProcess
) -> None:
    server.budget.requests, server.budget.per = 20, 1.0
    env = {**os.environ, "POLAR_REDIS_URL": redis_server.url}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, server.base_url, server.token],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0]
    assert outputs == ["300 300\n"] * 3
    assert statuses(server) == [200] * 45


@pytest.mark.redis
async def test_two_tokens_have_their_own_budgets_in_one_redis(
    redis_server: RedisProcess, redis_client: Any
) -> None:
    limit = RateLimit(requests=3, per=30.0, burst=3)
    first = SharedThrottle(limit, url=redis_server.url, key=budget_key("polar_oat_first"))
    second = SharedThrottle(limit, url=redis_server.url, key=budget_key("polar_oat_second"))
    try:
        for _ in range(3):
            (await first.acquire()).release()
        for _ in range(3):  # not slowed by the first token's full window
            (await asyncio.wait_for(second.acquire(), 1.0)).release()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(first.acquire(), 0.3)  # its window is full for 30 s
        assert first.shared
        assert second.shared
    finally:
        await first.aclose()
        await second.aclose()
    keys = sorted(key.decode() for key in await redis_client.keys("*"))
    assert keys == sorted(
        f"{budget_key(token)}:{part}"
        for token in ("polar_oat_first", "polar_oat_second")
        for part in ("bucket", "window")
    )
    assert await redis_client.zcard(f"{budget_key('polar_oat_first')}:window") == 3


@pytest.mark.redis
async def test_a_caller_cancelled_while_redis_gives_it_a_place_gives_the_place_back(
    redis_server: RedisProcess, redis_client: Any
) -> None:
    throttle = SharedThrottle(
        RateLimit(requests=2, per=30.0), url=redis_server.url, key=budget_key("polar_oat_x")
    )
    window, bucket = (f"{budget_key('polar_oat_x')}:{part}" for part in ("window", "bucket"))
    try:
        waiter = asyncio.ensure_future(throttle.acquire())
        await asyncio.sleep(0)  # the acquire script is on its way to Redis
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        for _ in range(500):  # the script took a place (the bucket moved), then gave it back
            if await redis_client.exists(bucket) and not await redis_client.zcard(window):
                break
            await asyncio.sleep(0.01)
        assert await redis_client.exists(bucket)
        assert await redis_client.zcard(window) == 0
    finally:
        await throttle.aclose()


@pytest.mark.redis
async def test_the_token_is_never_stored_in_redis_nor_logged(
    server: PolarTestServer,
    redis_server: RedisProcess,
    redis_client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="polar_links")
    server.budget.requests = 50
    async with shared_client(server, redis_server.url) as polar:
        await polar.checkout_links.list().collect()
        polar._transport.throttle.cool_down(0.01)
    stored = []
    for key in await redis_client.keys("*"):
        stored.append(key)
        kind = (await redis_client.type(key)).decode()
        if kind == "zset":
            stored += [m for m, _ in await redis_client.zrange(key, 0, -1, withscores=True)]
        elif kind == "string" and await redis_client.get(key) is not None:
            stored.append(await redis_client.get(key))
    assert len(stored) > 2
    assert not any(server.token.encode() in value for value in stored)
    assert server.token not in caplog.text


@pytest.mark.redis
async def test_a_429_seen_by_one_client_holds_every_client_sharing_the_budget(
    server: PolarTestServer, redis_server: RedisProcess, redis_client: Any
) -> None:
    server.faults.fail_next(1, 429, retry_after=1)
    link_id = server.store.expected_order()[0]
    async with (
        shared_client(server, redis_server.url, rate_limit=None) as first,
        shared_client(server, redis_server.url, rate_limit=None) as second,
    ):
        limited = asyncio.ensure_future(first.checkout_links.get(link_id))
        cooldown = f"{budget_key(server.token)}:cooldown"
        for _ in range(500):  # until the cooldown has reached Redis
            if await redis_client.exists(cooldown):
                break
            await asyncio.sleep(0.01)
        assert 429 in statuses(server)
        await second.checkout_links.get(link_id)
        await limited
    rejected = next(r for r in server.requests if r.status == 429)
    others = [r for r in server.requests if r is not rejected]
    assert [r.status for r in others] == [200, 200]
    # Neither client sent anything until the server's Retry-After had passed.
    assert min(r.time for r in others) >= rejected.time + 0.95


@pytest.mark.redis
async def test_redis_going_away_mid_walk_falls_back_then_shares_again(
    server: PolarTestServer,
    redis_server: RedisProcess,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.INFO, logger="polar_links")
    server.faults.latency = 0.005
    expected = server.store.expected_order()

    async def after(requests: int) -> None:
        await eventually(lambda: len(server.requests) >= requests, timeout=30)

    async def outage() -> None:
        await after(20)
        redis_server.stop()
        await after(40)
        await asyncio.to_thread(redis_server.start)

    async with shared_client(server, redis_server.url, rate_limit=RateLimit(40, per=1.0)) as polar:
        throttle = polar._transport.throttle
        assert isinstance(throttle, SharedThrottle)
        chaos = asyncio.ensure_future(outage())
        got = [link.id async for link in polar.checkout_links.list(limit=2, concurrency=2)]
        await chaos
        shared_again = throttle.shared

    assert got == expected  # every link once: the walk never stopped
    assert shared_again
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r.getMessage() for r in caplog.records if "is back" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"Redis at {redis_server.url} is unreachable (")
    assert warnings[0].endswith(
        ": pacing this client with its own budget until Redis answers again"
    )
    assert len(infos) == 1
    assert infos[0].startswith(f"Redis at {redis_server.url} is back after")

    import redis.asyncio

    client = redis.asyncio.Redis.from_url(redis_server.url)
    try:  # the restarted Redis (empty at start) counted the requests after the outage
        assert await client.zcard(f"{budget_key(server.token)}:window") > 0
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_an_unreachable_redis_falls_back_at_once_with_one_warning_and_no_password(
    server: PolarTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="polar_links")
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    started = time.monotonic()
    async with shared_client(server, url, rate_limit=RateLimit(100, per=1.0)) as polar:
        got = await polar.checkout_links.list(limit=10).collect()
    assert len(got) == 300
    assert time.monotonic() - started < 5
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "hunter2" not in caplog.text
    assert f"redis://127.0.0.1:{url.rsplit(':', 1)[1]}" in warnings[0]
