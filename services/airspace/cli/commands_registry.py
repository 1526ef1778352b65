"""`airspace workflows ...` and `airspace agents ...`: what runs, and who runs it."""

from __future__ import annotations

import pathlib
import uuid

from rich.syntax import Syntax
from rich.text import Text

from airspace.agent.v1 import agent_pb2
from airspace.cli import args as cli_args
from airspace.cli import samples
from airspace.cli.connection import connect, paged
from airspace.cli.output import (
    OK,
    UsageError,
    console,
    enum_label,
    fields,
    format_time,
    print_json,
    print_listing,
    table,
)
from airspace.v1 import agent_registry_pb2, workflow_pb2

_PROTOCOLS = {
    "airspace": agent_registry_pb2.AGENT_PROTOCOL_AIRSPACE,
    "a2a": agent_registry_pb2.AGENT_PROTOCOL_A2A,
}


def register(sub) -> None:
    workflows = cli_args.add_group(sub, "workflows", "create and read workflow definitions")

    apply = cli_args.add_command(
        workflows,
        "apply",
        "store a workflow file as a new version (unchanged files keep their version)",
        """
        airspace workflows apply workflows/contract-review.yaml
        airspace workflows apply review.yaml --validate-only
        """,
    )
    apply.add_argument("file", help="workflow document (YAML or JSON)")
    apply.add_argument("--validate-only", action="store_true", help="check it, store nothing")
    cli_args.json_flag(apply)
    apply.set_defaults(handler=apply_workflow)

    listing = cli_args.add_command(
        workflows, "list", "list workflows (latest version of each)", "airspace workflows list"
    )
    cli_args.limit_flag(listing)
    cli_args.json_flag(listing)
    listing.set_defaults(handler=list_workflows)

    show = cli_args.add_command(
        workflows,
        "show",
        "print a workflow version's source",
        """
        airspace workflows show contract-review
        airspace workflows show contract-review --version 2 > review-v2.yaml
        """,
    )
    show.add_argument("name", help="workflow name")
    show.add_argument("--version", type=int, default=0, help="version (default latest)")
    cli_args.json_flag(show)
    show.set_defaults(handler=show_workflow)

    schema = cli_args.add_command(
        workflows,
        "schema",
        "print the JSON Schema of workflow documents (for editors and linters)",
        """
        airspace workflows schema > workflow.schema.json
        # in a YAML file, for the YAML language server:
        # yaml-language-server: $schema=./workflow.schema.json
        """,
    )
    schema.set_defaults(handler=print_schema)

    agents = cli_args.add_group(sub, "agents", "register and inspect agents")

    listing = cli_args.add_command(agents, "list", "list registered agents", "airspace agents list")
    cli_args.limit_flag(listing)
    cli_args.json_flag(listing)
    listing.set_defaults(handler=list_agents)

    add = cli_args.add_command(
        agents,
        "register",
        "register the agent serving at HOST:PORT (its card is fetched from it)",
        """
        airspace agents register 127.0.0.1:7101
        airspace agents register extractor.internal:443 --name contract-extractor
        """,
    )
    add.add_argument("endpoint", metavar="HOST:PORT", help="the agent's gRPC endpoint")
    add.add_argument("--name", default="", help="expected agent name; the card must match")
    add.add_argument(
        "--protocol", choices=sorted(_PROTOCOLS), default="airspace", help="protocol it speaks"
    )
    cli_args.json_flag(add)
    add.set_defaults(handler=register_agent)

    show = cli_args.add_command(
        agents, "show", "show an agent's card", "airspace agents show contract-extractor"
    )
    show.add_argument("name", help="agent name")
    cli_args.json_flag(show)
    show.set_defaults(handler=show_agent)

    remove = cli_args.add_command(
        agents, "remove", "deregister an agent", "airspace agents remove contract-extractor"
    )
    remove.add_argument("name", help="agent name")
    remove.set_defaults(handler=remove_agent)


def print_schema(args) -> int:
    print(samples.workflow_schema().read_text(), end="")
    return OK


def apply_workflow(args) -> int:
    path = pathlib.Path(args.file)
    try:
        source = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    request = workflow_pb2.CreateWorkflowRequest(
        source=source, request_id=uuid.uuid4().hex, validate_only=args.validate_only
    )
    with connect(args) as client:
        response = client.workflows.CreateWorkflow(request)
    if args.json:
        print_json(response)
        return OK
    workflow = response.workflow
    ref = Text(f"{workflow.workflow}@{workflow.version}", style="bold")
    if args.validate_only:
        verdict = Text.assemble(ref, (" is valid", "green"), " (nothing stored)")
    elif response.created:
        verdict = Text.assemble(ref, (" created", "green"))
    else:
        verdict = Text.assemble(ref, " unchanged (identical to the latest version)")
    console().print(verdict)
    return OK


def list_workflows(args) -> int:
    with connect(args) as client:
        workflows, more = paged(
            client.workflows.ListWorkflows,
            workflow_pb2.ListWorkflowsRequest(),
            "workflows",
            args.limit,
        )
    if args.json:
        print_json(workflows)
        return OK
    rows = table("WORKFLOW", "VERSION", "PATTERN", "AGENTS", "DESCRIPTION", "CREATED")
    for workflow in workflows:
        rows.add_row(
            workflow.workflow,
            str(workflow.version),
            enum_label(workflow_pb2.Pattern, workflow.pattern).lower(),
            ", ".join(workflow.agents),
            workflow.description,
            format_time(workflow.create_time),
        )
    print_listing(rows, len(workflows), more, args.limit, "workflows")
    return OK


def show_workflow(args) -> int:
    request = workflow_pb2.GetWorkflowRequest(workflow=args.name, version=args.version)
    with connect(args) as client:
        workflow = client.workflows.GetWorkflow(request).workflow
    if args.json:
        print_json(workflow)
        return OK
    out = console()
    if not out.is_terminal:  # piped: the exact source, so it can be saved and re-applied
        print(workflow.source, end="" if workflow.source.endswith("\n") else "\n")
        return OK
    out.rule(
        f"{workflow.workflow}@{workflow.version} · "
        f"{enum_label(workflow_pb2.Pattern, workflow.pattern).lower()} · "
        f"by {workflow.created_by} {format_time(workflow.create_time)}"
    )
    lexer = "json" if workflow.source.lstrip().startswith("{") else "yaml"
    out.print(Syntax(workflow.source, lexer, background_color="default"))
    return OK


def list_agents(args) -> int:
    with connect(args) as client:
        agents, more = paged(
            client.agents.ListAgents, agent_registry_pb2.ListAgentsRequest(), "agents", args.limit
        )
    if args.json:
        print_json(agents)
        return OK
    rows = table("AGENT", "VERSION", "ENDPOINT", "PROTOCOL", "SKILLS", "CLEARANCES")
    for agent in agents:
        rows.add_row(
            agent.agent,
            agent.card.version,
            agent.endpoint,
            enum_label(agent_registry_pb2.AgentProtocol, agent.protocol).lower(),
            ", ".join(skill.id or skill.name for skill in agent.card.skills),
            _clearances(agent.card),
        )
    print_listing(rows, len(agents), more, args.limit, "agents")
    return OK


def register_agent(args) -> int:
    request = agent_registry_pb2.RegisterAgentRequest(
        endpoint=args.endpoint,
        protocol=_PROTOCOLS[args.protocol],
        agent=args.name,
        request_id=uuid.uuid4().hex,
    )
    with connect(args) as client:
        registered = client.agents.RegisterAgent(request)
    agent = registered.agent
    if args.json:
        print_json(registered)
        return OK
    out = console()
    out.print(
        Text.assemble(
            "registered ", (agent.agent, "bold"), f" v{agent.card.version} at {agent.endpoint}"
        )
    )
    out.print(
        "its spans reach the trace collector with this credential "
        "(AIRSPACE_AGENT_TELEMETRY_CREDENTIAL, or the OTLP header authorization: Bearer …):"
    )
    out.print(registered.telemetry_credential, markup=False, highlight=False)
    return OK


def show_agent(args) -> int:
    with connect(args) as client:
        agent = client.agents.GetAgent(agent_registry_pb2.GetAgentRequest(agent=args.name)).agent
    if args.json:
        print_json(agent)
        return OK
    card = agent.card
    grid = fields()
    grid.add_row("agent", f"{agent.agent} v{card.version}")
    grid.add_row("description", card.description)
    grid.add_row(
        "endpoint",
        f"{agent.endpoint} ({enum_label(agent_registry_pb2.AgentProtocol, agent.protocol).lower()})",
    )
    if card.provider or card.runtime:
        grid.add_row("provider", " · ".join(filter(None, (card.provider, card.runtime))))
    if card.input_modes or card.output_modes:
        modes = (
            f"in: {', '.join(card.input_modes) or '-'}  out: {', '.join(card.output_modes) or '-'}"
        )
        grid.add_row("modes", modes)
    grid.add_row("clearances", _clearances(card) or "none")
    capabilities = [
        name
        for name in ("streaming", "actions", "handoff", "idempotent")
        if getattr(card.capabilities, name)
    ]
    grid.add_row("capabilities", ", ".join(capabilities) or "none")
    grid.add_row("registered", f"{format_time(agent.register_time)} by {agent.registered_by}")
    for skill in card.skills:
        grid.add_row(
            "skill", Text.assemble((skill.id or skill.name, "cyan"), f"  {skill.description}")
        )
    console().print(grid)
    return OK


def remove_agent(args) -> int:
    request = agent_registry_pb2.DeregisterAgentRequest(
        agent=args.name, request_id=uuid.uuid4().hex
    )
    with connect(args) as client:
        client.agents.DeregisterAgent(request)
    console().print(Text.assemble("removed ", (args.name, "bold")))
    return OK


def _clearances(card: agent_pb2.AgentCard) -> str:
    return ", ".join(enum_label(agent_pb2.DataClass, c).lower() for c in card.clearances)
