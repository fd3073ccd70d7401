"""Redaction takes time linear in its input, and large payloads leave the event loop
free (issue 16, item 2).

The timings are of the pure functions, best of three runs: the input four times as
large must take less than ten times as long (quadratic code takes about sixteen
times as long) and, at full size, well under half a second (the quadratic code
took 3 to 24 seconds on these payloads).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import trio

from trio_stream_session import SessionError, redact_text, redact_value
from trio_stream_session._provider_error import error_payload, normalize_provider_error
from trio_stream_session._redact import ASYNC_INLINE_LIMIT, REDACTED, redact_value_async

KIB = 1024
#: The most the full-size payload may take (the machine may be busy).
LIMIT = 0.5
#: The most the 4x payload may take relative to the 1x one (linear: ~4; quadratic: ~16).
RATIO = 10.0


def tool_output_urls(size: int) -> str:
    """A tool's compact JSON list of ``http://host:port`` URLs (4,000 in 170 KiB)."""
    count = size // 44
    urls = [f"http://build-{i:05d}.internal:{8000 + i % 1000}/status" for i in range(count)]
    return json.dumps(urls, separators=(",", ":"))


def cli_stderr(size: int) -> str:
    """A CLI's one-line JSON error on stderr: endpoints and dotted module paths."""
    unit = "grpc://10.0.0.7:443,org.example.rpc.v1.AgentService.Call-retry.a.b.c.d,"
    return '{"error":"unavailable","trace":"' + (unit * (size // len(unit) + 1))[:size] + '"}'


def lone_begin_lines(size: int) -> str:
    """Private-key header lines with no END line."""
    line = "-----BEGIN RSA PRIVATE KEY-----\n"
    return line * (size // len(line))


def repeated(unit: str) -> Callable[[int], str]:
    return lambda size: unit * (size // len(unit))


ATTACKS: dict[str, Callable[[int], str]] = {
    "tool_output_urls": tool_output_urls,
    "cli_stderr": cli_stderr,
    "lone_begin_lines": lone_begin_lines,
    "jwt_prefixes": repeated("eyJ"),
    "dotted_run": repeated("a."),
    "quoted_keys": repeated('"secret'),
    "clean_prose": repeated("the quick brown fox jumps over the lazy dog; "),
}


def best_time(function: Callable[[Any], object], argument: object) -> float:
    """The best of three runs; a run over :data:`LIMIT` ends the measurement."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        function(argument)
        best = min(best, time.perf_counter() - start)
        if best > LIMIT:
            break
    return best


def assert_linear(function: Callable[[Any], object], make: Callable[[int], Any]) -> None:
    small = best_time(function, make(64 * KIB))
    large = best_time(function, make(256 * KIB))
    assert large < LIMIT, f"256 KiB took {large:.3f}s"
    # A floor keeps timer noise on tiny timings out of the ratio.
    assert large < RATIO * max(small, 0.002), f"64 KiB: {small:.4f}s, 256 KiB: {large:.4f}s"


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_redact_text_is_linear(attack: str) -> None:
    assert_linear(redact_text, ATTACKS[attack])


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_redact_value_of_a_tool_event_is_linear(attack: str) -> None:
    def tool_event(size: int) -> dict[str, Any]:
        return {
            "tool_name": "bash",
            "tool_input": {"command": "cat out.txt"},
            "tool_output": ATTACKS[attack](size),
        }

    assert_linear(redact_value, tool_event)


@pytest.mark.parametrize("attack", ["cli_stderr", "tool_output_urls", "lone_begin_lines"])
def test_provider_error_stderr_is_linear(attack: str) -> None:
    """The stderr path: normalised, and redacted again as a SessionError and its payload."""

    def provider_failure(stderr: str) -> object:
        normalize_provider_error("codex", {"kind": "transport_exit", "stderr": stderr})
        error = SessionError("provider_error", provider_error={"stderr": stderr})
        return error_payload(error)

    assert_linear(provider_failure, ATTACKS[attack])


@pytest.mark.parametrize("size", [1 * KIB, 64 * KIB, 1024 * KIB])
def test_attack_payloads_still_redact_what_they_hold(size: int) -> None:
    # The linear patterns give what the plain ones give: the URLs hold no password,
    # a lone BEGIN line is a key header.
    urls = tool_output_urls(size)
    assert redact_text(urls) == urls
    pem = lone_begin_lines(size)
    assert set(redact_text(pem).split("\n")) == {REDACTED, ""}
    secret = "postgres://admin:s3cret@db/prod"
    assert redact_text(urls + "\n" + secret) == urls + "\n" + REDACTED


# -- off the event loop ----------------------------------------------------------------------


def large_payload() -> dict[str, Any]:
    """A tool event big enough that redacting it takes tens of milliseconds."""
    return {
        "tool_name": "fetch",
        "tool_input": {"url": "https://example.com", "password": "hunter2"},
        "tool_output": tool_output_urls(512 * KIB) + "\npassword=hunter2\n",
    }


async def ticks_during(value: Any) -> tuple[int, Any]:
    """Redact *value* asynchronously while another task counts its own turns."""
    ticks = 0
    finished = False

    async def ticker() -> None:
        nonlocal ticks
        while not finished:
            await trio.lowlevel.checkpoint()
            ticks += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        result = await redact_value_async(value)
        finished = True
    return ticks, result


async def test_large_payload_is_redacted_while_the_loop_runs() -> None:
    payload = large_payload()
    ticks, result = await ticks_during(payload)
    assert ticks > 0
    assert result == redact_value(payload)
    assert result["tool_input"]["password"] == REDACTED
    assert "hunter2" not in json.dumps(result)


async def test_small_payload_is_redacted_inline_without_a_checkpoint() -> None:
    payload = {"tool_output": "x" * (ASYNC_INLINE_LIMIT // 2) + " password=hunter2"}
    ticks, result = await ticks_during(payload)
    assert ticks == 0
    assert result == redact_value(payload)


async def test_many_small_items_count_as_large() -> None:
    payload = {"rows": [{"n": i, "password": "x"} for i in range(ASYNC_INLINE_LIMIT)]}
    ticks, result = await ticks_during(payload)
    assert ticks > 0
    assert result == redact_value(payload)


async def test_self_containing_value_is_sized_and_redacted() -> None:
    cyclic: dict[str, Any] = {"text": "api_key=abcdef"}
    cyclic["self"] = cyclic
    assert await redact_value_async(cyclic) == {"text": REDACTED, "self": REDACTED}


async def test_cancellation_does_not_abandon_a_started_redaction() -> None:
    payload = large_payload()
    results: list[Any] = []
    with trio.CancelScope() as scope:

        async def cancel_once_started() -> None:
            await trio.lowlevel.checkpoint()
            scope.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(cancel_once_started)
            results.append(await redact_value_async(payload))
            # The cancellation is still pending: the next checkpoint delivers it.
            await trio.lowlevel.checkpoint()
    assert scope.cancelled_caught
    assert results == [redact_value(payload)]


async def test_cancelled_before_it_starts_raises_cancelled() -> None:
    with trio.CancelScope() as scope:
        scope.cancel()
        await redact_value_async(large_payload())
        pytest.fail("not reached")  # pragma: no cover
    assert scope.cancelled_caught
