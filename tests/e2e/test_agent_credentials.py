"""Registering an agent issues its telemetry credential: signed with the mesh key, naming
the agent and the registrant's tenant, so its spans can join that tenant's runs only."""

from __future__ import annotations

import pytest
from pattern_agents import answering

from airspace.mesh import telemetry_credentials
from airspace.v1 import agent_registry_pb2

pytestmark = pytest.mark.mesh


async def test_registration_issues_a_credential_for_the_agent_in_the_tenant(mesh):
    client = mesh.client(tenant="acme")
    endpoint = await mesh.serve_agent(answering("checker", "ok"))
    registered = await client.agents.RegisterAgent(
        agent_registry_pb2.RegisterAgentRequest(endpoint=endpoint), metadata=client.metadata
    )
    sender = telemetry_credentials.verify(mesh.key, registered.telemetry_credential)
    assert sender == telemetry_credentials.agent("acme", "checker")
    assert (
        telemetry_credentials.verify(b"another-mesh-key" * 2, registered.telemetry_credential)
        is None
    )
    read = await client.agents.GetAgent(
        agent_registry_pb2.GetAgentRequest(agent="checker"), metadata=client.metadata
    )
    assert registered.telemetry_credential not in str(read)  # not stored, not shown again
