"""Round-robin channels over several replicas: the targets an endpoint setting becomes,
and calls spread over two real servers."""

import collections

import pytest

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.mesh import balancing, channels, errors, identity, server
from airspace.mesh.settings import ServerSettings

pytestmark = pytest.mark.mesh

KEY = b"test-mesh-key-0123456789abcdef0123"


@pytest.mark.parametrize(
    ("endpoint", "target"),
    [
        ("dns:///routers.airspace:50060", "dns:///routers.airspace:50060"),
        ("10.0.0.5:50060, 10.0.0.6:50060", "ipv4:10.0.0.5:50060,10.0.0.6:50060"),
        ("[::1]:50060,[::1]:50061", "ipv6:[::1]:50060,[::1]:50061"),
    ],
)
def test_several_replicas_become_one_round_robin_target(endpoint, target):
    assert balancing.upstream(endpoint) == balancing.Upstream(target, balancing.ROUND_ROBIN)


@pytest.mark.parametrize("endpoint", ["127.0.0.1:50060", "router:50060"])
def test_one_address_keeps_grpc_default_connection(endpoint):
    assert balancing.upstream(endpoint) == balancing.Upstream(endpoint)


@pytest.mark.parametrize(
    "endpoint",
    ["", "router-1:50060,router-2:50060", "10.0.0.5:50060,[::1]:50060", "10.0.0.5,10.0.0.6"],
)
def test_a_list_that_grpc_cannot_resolve_statically_is_refused(endpoint):
    with pytest.raises(errors.InvalidArgument):
        balancing.upstream(endpoint)


class NamedAgent(agent_pb2_grpc.AgentServiceServicer):
    """Answers GetAgentCard with the name of the replica that served the call."""

    def __init__(self, name: str):
        self.name = name

    async def GetAgentCard(self, request, context):
        return agent_pb2.GetAgentCardResponse(card=agent_pb2.AgentCard(name=self.name))


async def test_a_balanced_channel_spreads_calls_over_every_replica():
    replicas = []
    for name in ("a", "b"):
        srv = server.MeshServer(name, ServerSettings(mesh_key=KEY))
        srv.add_service(agent_pb2_grpc.add_AgentServiceServicer_to_server, NamedAgent(name))
        replicas.append((srv, await srv.start()))
    endpoint = ",".join(f"127.0.0.1:{port}" for _, port in replicas)
    caller = identity.Identity(principal="user:dev", tenant="acme", roles=("operator",))
    channel = channels.open_channel(
        endpoint, ServerSettings(mesh_key=KEY), as_identity=caller, balanced=True
    )
    try:
        stub = agent_pb2_grpc.AgentServiceStub(channel)
        served = collections.Counter()
        for _ in range(20):
            reply = await stub.GetAgentCard(agent_pb2.GetAgentCardRequest(), wait_for_ready=True)
            served[reply.card.name] += 1
        # round_robin sends each call to the next ready replica in turn.
        assert served["a"] >= 5 and served["b"] >= 5, served
    finally:
        await channel.close()
        for srv, _ in replicas:
            await srv.stop(0)
