"""Several sample agents in one process, each on its own port: the demo scenarios' agents
cost one interpreter instead of one each.

    python -m airspace.agents.samples.host billing-analyst=7101 usage-analyst=7102 ...

Prints "READY sample-agents <first port>" once every agent serves. Hosted agents serve no
Prometheus metrics (the counters are per process, so they could not tell agents apart).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import signal

from airspace.agents.kit import Agent, AgentSettings
from airspace.agents.kit.settings import ENV_PREFIX
from airspace.mesh import lifeline, logs, telemetry
from airspace.mesh import settings as mesh_settings
from airspace.policy.engine.pii.log_masking import mask_log_text

NAME = "sample-agents"
PACKAGE = "airspace.agents.samples"


def _assignment(text: str) -> tuple[Agent, int]:
    """NAME=PORT: the sample agent NAME (airspace.agents.samples.NAME, with '_' for '-')."""
    name, _, port = text.partition("=")
    if not port.isdigit() or not name.replace("-", "").isalpha():
        raise argparse.ArgumentTypeError(f"expected NAME=PORT, got {text[:40]!r}")
    try:
        module = importlib.import_module(f"{PACKAGE}.{name.replace('-', '_')}")
    except ModuleNotFoundError:
        raise argparse.ArgumentTypeError(f"no sample agent {name!r} in {PACKAGE}") from None
    agent = getattr(module, "agent", None)
    if not isinstance(agent, Agent) or agent.name != name:
        raise argparse.ArgumentTypeError(f"{module.__name__} defines no agent {name!r}")
    return agent, int(port)


async def serve(assignments: list[tuple[Agent, int]]) -> None:
    lifeline.hold()
    base = mesh_settings.load(AgentSettings, ENV_PREFIX)
    logs.setup(NAME, mask_log_text, base.log_format)
    telemetry.setup(NAME, base.otlp_endpoint)
    servers = [
        agent.build_server(dataclasses.replace(base, port=port, metrics_port=-1))
        for agent, port in assignments
    ]
    ports = [await server.start() for server in servers]
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    print(f"READY {NAME} {ports[0]}", flush=True)
    await stopping.wait()
    await asyncio.gather(*(server.stop() for server in servers))
    telemetry.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m airspace.agents.samples.host", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "agents", nargs="+", type=_assignment, metavar="NAME=PORT", help="an agent and its port"
    )
    asyncio.run(serve(parser.parse_args(argv).agents))


if __name__ == "__main__":
    main()
