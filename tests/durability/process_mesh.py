"""The mesh as real processes (state, policy, routers, gateway and the counting agent),
with the means to SIGKILL and restart any of them, and checks shared by the tests."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import pathlib
import sqlite3
import time
from collections.abc import Callable

import grpc
import psycopg

from airspace.cli import local_mesh
from airspace.cli.processes import ManagedProcess, free_port
from airspace.mesh import identity
from airspace.v1 import (
    agent_registry_pb2,
    agent_registry_pb2_grpc,
    memory_pb2_grpc,
    run_pb2,
    run_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The routers' lease: longer than the default 2 s, so a router of a loaded test machine
# whose event loop stalls a moment keeps its runs.
LEASE_SECONDS = 3.0
STEPS = ("one", "two", "three")
WORKFLOW = "slow-count"
WORKFLOW_SOURCE = f"""
name: {WORKFLOW}
description: Counts to {len(STEPS)}, slowly.
pattern: sequential
timeout: 2m
steps:
""" + "".join(
    f"""  - name: {step}
    agent: counter
    timeout: 20s
    retry: {{max_attempts: 3, initial_backoff: 100ms, max_backoff: 1s}}
"""
    for step in STEPS
)
TERMINAL = (run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_FAILED, run_pb2.RUN_STATE_CANCELED)


class ProcessMesh:
    """State, policy, one router (more on demand), a gateway and the counting agent, each
    a child process on a port fixed up front, so a restarted one comes back in place.
    State is in SQLite under `home`, or in the PostgreSQL database `state_url` names."""

    def __init__(self, home: pathlib.Path, state_url: str = ""):
        self.home = home
        self.state_url = state_url
        self.gateway_address = f"127.0.0.1:{free_port()}"
        self.credentials = local_mesh.bootstrap(home, self.gateway_address)
        self.mesh_key = (home / "mesh.key").read_bytes().strip()
        self.agent_log = home / "counter.log"
        self._common = {
            "AIRSPACE_DATA_DIR": str(home),
            "AIRSPACE_MESH_KEY_FILE": str(home / "mesh.key"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
        }
        self.state = self._service(
            "state",
            "airspace.state.main",
            "STATE",
            **({"AIRSPACE_STATE_URL": state_url} if state_url else {}),
        )
        self.policy = self._service("policy", "airspace.policy.service.main", "POLICY")
        self.routers: dict[str, ManagedProcess] = {}
        first = self.add_router("a")
        self.gateway = self._service(
            "gateway",
            "airspace.gateway.main",
            "GATEWAY",
            port=int(self.gateway_address.rsplit(":", 1)[1]),
            AIRSPACE_GATEWAY_ROUTER_ENDPOINT=first.address,
            AIRSPACE_GATEWAY_POLICY_ENDPOINT=self.policy.address,
        )
        self.agent = counting_agent(home)

    def _service(self, name: str, module: str, prefix: str, port: int = 0, **extra):
        port = port or free_port()
        env = {**self._common, f"AIRSPACE_{prefix}_PORT": str(port), **extra}
        return ManagedProcess(name, module, port, env, log_dir=self.home / "logs")

    def add_router(self, name: str, **env: str) -> ManagedProcess:
        """A router replica (not started) named router-<name> in its leases; `env` adds
        settings of its own."""
        router = self._service(
            f"router-{name}",
            "airspace.router.main",
            "ROUTER",
            AIRSPACE_ROUTER_STATE_ENDPOINT=self.state.address,
            AIRSPACE_ROUTER_POLICY_ENDPOINT=self.policy.address,
            # No collector in this mesh: nothing reads traces here.
            AIRSPACE_ROUTER_TRACE_ENDPOINT=f"127.0.0.1:{free_port()}",
            AIRSPACE_ROUTER_ROUTER_ID=f"router-{name}",
            AIRSPACE_ROUTER_LEASE_SECONDS=str(LEASE_SECONDS),
            AIRSPACE_ROUTER_RECOVERY_INTERVAL_SECONDS="0.3",
            **env,
        )
        self.routers[name] = router
        return router

    @property
    def processes(self) -> list[ManagedProcess]:
        return [self.state, self.policy, *self.routers.values(), self.gateway, self.agent]

    def start(self) -> None:
        # One after the other, from this thread: children die with the thread that
        # started them (PR_SET_PDEATHSIG), so no worker threads here.
        for process in self.processes:
            if not process.alive():
                process.start()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    @staticmethod
    def kill(process: ManagedProcess) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        process.process.kill()
        process.process.wait()

    def signed(self, principal="user:dev", tenant="default", roles=("operator",), kind="user"):
        """Metadata with a mesh-signed identity, for calling a router directly."""
        who = identity.Identity(principal, tenant, tuple(roles), kind)
        return ((identity.METADATA_KEY, identity.sign(who, self.mesh_key)),)

    def agent_calls(self) -> list[tuple[str, str, str, str]]:
        """(start|finish, run_id, step_key, idempotency_key) per handler event, in order."""
        if not self.agent_log.exists():
            return []
        return [tuple(line.split()) for line in self.agent_log.read_text().splitlines()]

    def lease_owners(self) -> dict[str, str]:
        """Who holds each run's lease now, read from the state store itself."""
        if not self.state_url:
            return lease_owners(self.home)
        with psycopg.connect(self.state_url) as conn:
            return dict(conn.execute("SELECT run_id, owner FROM leases").fetchall())

    def log_tail(self, process: ManagedProcess, lines: int = 40) -> str:
        try:
            return "\n".join(process.log_path.read_text().splitlines()[-lines:])
        except FileNotFoundError:
            return ""


@dataclasses.dataclass
class Client:
    """Stubs of a public endpoint (the gateway, or a router with signed metadata)."""

    channel: grpc.aio.Channel
    metadata: tuple

    def __post_init__(self):
        self.runs = run_pb2_grpc.RunServiceStub(self.channel)
        self.workflows = workflow_pb2_grpc.WorkflowServiceStub(self.channel)
        self.agents = agent_registry_pb2_grpc.AgentRegistryServiceStub(self.channel)
        self.memory = memory_pb2_grpc.MemoryServiceStub(self.channel)


def bearer_client(gateway_address: str, api_key: str) -> Client:
    channel = grpc.aio.insecure_channel(gateway_address)
    return Client(channel, (("authorization", f"Bearer {api_key}"),))


def gateway_client(mesh: ProcessMesh, api_key: str | None = None) -> Client:
    return bearer_client(mesh.gateway_address, api_key or mesh.credentials["api_key"])


def counting_agent(home: pathlib.Path, **env: str) -> ManagedProcess:
    """The counting agent (not started), logging its calls to home/counter.log."""
    port = free_port()
    return ManagedProcess(
        "counter",
        "tests.durability.counting_agent",
        port,
        {
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "COUNTER_LOG": str(home / "counter.log"),
            # Its result store, kept across its restarts.
            "AIRSPACE_DATA_DIR": str(home),
            **env,
        },
        args=("--port", str(port)),
        log_dir=home / "logs",
    )


def lease_owners(home: pathlib.Path) -> dict[str, str]:
    """Who holds each run's lease now, read from the SQLite state store under `home`."""
    with sqlite3.connect(f"file:{home / 'state.db'}?mode=ro", uri=True) as db:
        return dict(db.execute("SELECT run_id, owner FROM leases").fetchall())


async def prepare_workflow(client: Client, agent_address: str) -> None:
    """Registers the counting agent serving at `agent_address` and the slow-count workflow."""
    await client.agents.RegisterAgent(
        agent_registry_pb2.RegisterAgentRequest(endpoint=agent_address),
        metadata=client.metadata,
        timeout=30,
    )
    await client.workflows.CreateWorkflow(
        workflow_pb2.CreateWorkflowRequest(source=WORKFLOW_SOURCE),
        metadata=client.metadata,
        timeout=30,
    )


async def start_runs(client: Client, count: int, label: str) -> list[str]:
    async def start(index: int) -> str:
        request = run_pb2.StartRunRequest(workflow=WORKFLOW, request_id=f"{label}-{index}")
        request.input.update({"count": 0})
        response = await client.runs.StartRun(request, metadata=client.metadata, timeout=60)
        return response.run.run_id

    return list(await asyncio.gather(*(start(index) for index in range(count))))


async def wait_until(condition, what: str, timeout: float = 60.0, every: float = 0.1):
    """Polls `condition` (sync or async) until it is true; fails naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def held_by(owners: dict[str, str], router: str) -> set[str]:
    """The runs `router` holds in `owners` (run id to lease owner)."""
    held = {run for run, owner in owners.items() if owner == router}
    assert held, f"{router} held no run"
    return held


async def takeover_seconds(
    owners: Callable[[], dict[str, str]], held: set[str], stopped_at: float
) -> float:
    """Waits until every run in `held` is leased by someone else than its holder when it
    stopped (by `owners`, run id to lease owner, read now); returns how long after
    `stopped_at` (monotonic) the last one was taken over."""
    before = owners()
    taken: dict[str, float] = {}

    def all_taken() -> bool:
        now, current = time.monotonic(), owners()
        for run in held - taken.keys():
            if current.get(run) != before.get(run):
                taken[run] = now - stopped_at
        return taken.keys() == held

    await wait_until(all_taken, "another router to take the runs over", every=0.05)
    return max(taken.values())


def finished_steps(mesh: ProcessMesh, run_ids: set[str]) -> int:
    return sum(1 for kind, run, *_ in mesh.agent_calls() if kind == "finish" and run in run_ids)


async def runs_by_id(client: Client, run_ids: set[str]) -> dict[str, run_pb2.Run]:
    found, token = {}, ""
    while True:
        page = await client.runs.ListRuns(
            run_pb2.ListRunsRequest(workflow=WORKFLOW, page_size=1000, page_token=token),
            metadata=client.metadata,
            timeout=30,
        )
        found.update({run.run_id: run for run in page.runs if run.run_id in run_ids})
        token = page.next_page_token
        if not token:
            return found


async def wait_for_the_end(client: Client, run_ids: list[str], timeout: float = 60.0) -> dict:
    wanted = set(run_ids)

    async def all_ended():
        runs = await runs_by_id(client, wanted)
        return (
            runs
            if len(runs) == len(wanted) and all(run.state in TERMINAL for run in runs.values())
            else None
        )

    return await wait_until(all_ended, f"{len(run_ids)} runs to end", timeout, every=0.25)


async def event_log(client: Client, run_id: str) -> list[run_pb2.RunEvent]:
    """The run's events; a failed or canceled run's stream ends with its status (ABORTED,
    CANCELLED) after the last one."""
    stream = client.runs.WatchRun(
        run_pb2.WatchRunRequest(run_id=run_id), metadata=client.metadata, timeout=30
    )
    events = []
    try:
        async for event in stream:
            events.append(event)
    except grpc.aio.AioRpcError as error:
        if error.code() not in (grpc.StatusCode.ABORTED, grpc.StatusCode.CANCELLED):
            raise
    return events


def check_exactly_once(
    mesh: ProcessMesh, logs: dict[str, list[run_pb2.RunEvent]], interruptions: int = 1
) -> int:
    """Checks the runs' event logs and the agent's own record against each other; returns
    how many steps were invoked again after an interruption (the step in flight)."""
    calls = collections.defaultdict(list)
    for kind, run_id, step_key, key in mesh.agent_calls():
        if run_id in logs:
            calls[(run_id, step_key)].append((kind, key))
    repeated = 0
    for run_id, events in logs.items():
        assert [e.sequence for e in events] == list(range(1, len(events) + 1)), run_id
        kinds = collections.Counter(e.WhichOneof("kind") for e in events)
        ends = [e.run_state_changed.to for e in events if e.HasField("run_state_changed")]
        assert ends == [run_pb2.RUN_STATE_RUNNING, run_pb2.RUN_STATE_COMPLETED], (run_id, ends)
        assert kinds["run_output"] == 1, run_id
        completed = collections.Counter(e.step_key for e in events if e.HasField("step_completed"))
        started = collections.Counter(e.step_key for e in events if e.HasField("step_started"))
        assert sorted(completed) == sorted(started) and set(completed.values()) == {1}, run_id
        assert len(completed) == len(STEPS), run_id
        for step_key, starts in started.items():
            seen = calls[(run_id, step_key)]
            # The agent always got the same idempotency key for the step.
            assert {key for _, key in seen} == {f"{run_id}/{step_key}"}, seen
            handler_runs = sum(kind == "start" for kind, _ in seen)
            # A step ran once, unless it was in flight when its router died: then it was
            # invoked again with the same key. The log shows the invocation cut short
            # (a second StepStarted) only when it outlived the live delay: a StepStarted
            # is written with the step's completion, or by the flush timer.
            assert 1 <= handler_runs <= 1 + interruptions, (run_id, step_key, seen, starts)
            repeated += max(starts, handler_runs) - 1
        assert sum(starts - 1 for starts in started.values()) <= interruptions, (
            run_id,
            started,
            [(e.step_key, e.WhichOneof("kind")) for e in events],
        )
    return repeated


def reinvocations(mesh: ProcessMesh, logs: dict[str, list[run_pb2.RunEvent]]) -> tuple[int, int]:
    """(how often the router invoked a step again after it had finished at the agent, how
    often the handler then ran again). The first is what the router's journal leaves open:
    an answer that arrived, or was on its way, when the router died. The second must stay
    0: the agent answers such a call from its result store without running the handler."""
    handler_starts: collections.Counter[tuple[str, str]] = collections.Counter()
    finished: set[tuple[str, str]] = set()
    reran = 0
    for kind, run_id, step_key, _ in mesh.agent_calls():
        step = (run_id, step_key)
        if kind == "start":
            handler_starts[step] += 1
            reran += step in finished
        else:
            finished.add(step)
    answered_from_store = 0
    for run_id, events in logs.items():
        invoked = collections.Counter(e.step_key for e in events if e.HasField("step_started"))
        for step_key, count in invoked.items():
            # Each invocation ran the handler, or was answered without running it.
            answered_from_store += max(count - handler_starts[(run_id, step_key)], 0)
    return answered_from_store + reran, reran
