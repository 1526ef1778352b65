"""The bridge's A2A Agent Card, built from the workflow it serves."""

from __future__ import annotations

from a2a.types import a2a_pb2

from airspace.v1 import workflow_pb2

MODES = ["text/plain", "application/json"]
_BEARER = "airspace-api-key"


def base_card(workflow: str, address: str) -> a2a_pb2.AgentCard:
    """The card known without credentials: what the bridge is and how to call it. The
    full card (GetExtendedAgentCard) adds what the caller's tenant knows of the workflow."""
    card = a2a_pb2.AgentCard(
        name=workflow,
        description=f"The Airspace workflow {workflow!r}, run by the Airspace mesh.",
        version="0",
        supported_interfaces=[
            a2a_pb2.AgentInterface(url=address, protocol_binding="GRPC", protocol_version="1.0")
        ],
        capabilities=a2a_pb2.AgentCapabilities(streaming=True, extended_agent_card=True),
        default_input_modes=MODES,
        default_output_modes=MODES,
        skills=[
            a2a_pb2.AgentSkill(
                id=workflow, name=workflow, description="Runs the workflow.", tags=["airspace"]
            )
        ],
    )
    # Callers authenticate as with the gateway: an API key or a JWT as a bearer token.
    card.security_schemes[_BEARER].http_auth_security_scheme.scheme = "Bearer"
    card.security_requirements.add().schemes[_BEARER].SetInParent()
    return card


def workflow_card(base: a2a_pb2.AgentCard, workflow: workflow_pb2.Workflow) -> a2a_pb2.AgentCard:
    card = a2a_pb2.AgentCard()
    card.CopyFrom(base)
    card.version = str(workflow.version)
    card.description = workflow.description or base.description
    pattern = workflow_pb2.Pattern.Name(workflow.pattern).removeprefix("PATTERN_").lower()
    del card.skills[:]
    card.skills.add(
        id=workflow.workflow,
        name=workflow.workflow,
        description=workflow.description or f"Runs the {workflow.workflow} workflow.",
        tags=["airspace", pattern, *workflow.agents],
        input_modes=MODES,
        output_modes=MODES,
    )
    return card
