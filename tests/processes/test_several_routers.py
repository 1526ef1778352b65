"""`airspace up --routers 2` as real processes: the gateway spreads runs over both routers,
and when one is killed outright the other takes its runs over once its router lease lapses."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sys
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from up_support import start_up

from airspace.cli.processes import free_port
from airspace.router.settings import RouterSettings
from airspace.v1 import run_pb2
from tests.durability.process_mesh import (
    STEPS,
    bearer_client,
    counting_agent,
    held_by,
    lease_owners,
    prepare_workflow,
    start_runs,
    takeover_seconds,
    wait_for_the_end,
    wait_until,
)

pytestmark = [
    pytest.mark.process,
    pytest.mark.timeout(180),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]
RUNS = 20
# Slow steps keep runs in flight when a router dies.
STEP_SECONDS = "1.0"
DEFAULTS = RouterSettings()
ROUTER_LINE = re.compile(r"(router-\d+)\s+127\.0\.0\.1:(\d+)\s+metrics (http://\S+)")


def routers_in(printed: list[str]) -> dict[str, tuple[int, str]]:
    """Each router `airspace up` started: its port and metrics URL, as it printed them."""
    found = (ROUTER_LINE.search(line) for line in printed)
    return {m.group(1): (int(m.group(2)), m.group(3)) for m in found if m}


def completed_runs(metrics_url: str) -> float:
    text = urllib.request.urlopen(metrics_url, timeout=10).read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "airspace_router_runs_finished"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels.get("state") == "completed"
    )


def pid_listening_as_router(port: int) -> int:
    """The router process told to serve on `port` (its environment says so)."""
    marker = f"AIRSPACE_ROUTER_PORT={port}".encode()
    for proc in os.listdir("/proc"):
        try:
            with open(f"/proc/{proc}/environ", "rb") as environ:
                if proc.isdigit() and marker in environ.read().split(b"\0"):
                    return int(proc)
        except OSError:
            continue
    raise AssertionError(f"no router on port {port}")


async def all_completed(client, run_ids: list[str]) -> None:
    runs = await wait_for_the_end(client, run_ids, timeout=90)
    failed = {run_id: run.error.message for run_id, run in runs.items() if run.error.message}
    assert not failed, failed
    assert {run.state for run in runs.values()} == {run_pb2.RUN_STATE_COMPLETED}
    assert {run.output["data"]["count"] for run in runs.values()} == {len(STEPS)}


def _all_counted(executed: dict[str, float]) -> dict[str, float] | None:
    return executed if sum(executed.values()) == RUNS else None


async def test_two_routers_share_the_runs_and_one_takes_over_from_a_killed_one(tmp_path):
    home, port = tmp_path / "home", free_port()
    up, printed = start_up(home, port, "--routers", "2", "--no-agents")
    agent = counting_agent(home, COUNTER_DELAY_SECONDS=STEP_SECONDS)
    agent.start()
    credentials = json.loads((home / "credentials.json").read_text())
    client = bearer_client(f"127.0.0.1:{port}", credentials["api_key"])
    try:
        routers = routers_in(printed)
        assert sorted(routers) == ["router-1", "router-2"], printed
        await prepare_workflow(client, agent.address)

        await all_completed(client, await start_runs(client, RUNS, "shared"))
        # A router counts a run once it recorded its end, a moment after clients see it.
        executed = await wait_until(
            lambda: _all_counted({name: completed_runs(url) for name, (_, url) in routers.items()}),
            f"the routers to count {RUNS} completed runs",
        )
        assert all(executed.values()), executed

        in_flight = await start_runs(client, RUNS, "takeover")
        await wait_until(lambda: len(lease_owners(home)) >= RUNS // 2, "runs to be leased")
        victim = pid_listening_as_router(routers["router-1"][0])
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        held = held_by(lease_owners(home), f"{socket.gethostname()}-{victim}")
        took = await takeover_seconds(lambda: lease_owners(home), held, killed_at)
        # Reported, not asserted: how long a takeover takes is a number, not a test.
        print(
            f"takeover {took:.1f}s after SIGKILL (router lease {DEFAULTS.lease_seconds:g}s,"
            f" heartbeat {DEFAULTS.heartbeat_seconds:g}s)"
        )
        await all_completed(client, in_flight)
    finally:
        await client.channel.close()
        agent.stop()
        up.send_signal(signal.SIGINT)
        assert up.wait(30) == 0
