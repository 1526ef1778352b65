"""The mesh kit over real gRPC: identity, error details, health, reflection, deadlines."""

import asyncio

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.mesh import channels, deadlines, errors, identity, server
from airspace.mesh.interceptor import MeshInterceptor
from airspace.mesh.settings import ServerSettings

pytestmark = pytest.mark.mesh

KEY = b"test-mesh-key-0123456789abcdef0123"


class ProbeAgent(agent_pb2_grpc.AgentServiceServicer):
    """Answers with the caller it sees, or fails the way the request asks."""

    def __init__(self):
        self.remaining: list[float | None] = []

    async def GetAgentCard(self, request, context):
        caller = identity.require()
        self.remaining.append(deadlines.remaining())
        if caller.principal == "user:bad":
            raise errors.InvalidArgument("name is required", field="card.name")
        if caller.principal == "user:boom":
            raise RuntimeError("secret internals")
        return agent_pb2.GetAgentCardResponse(
            card=agent_pb2.AgentCard(name=caller.principal, description=caller.tenant)
        )

    async def Invoke(self, request_iterator, context):
        caller = identity.require()
        self.remaining.append(deadlines.remaining())
        async for _ in request_iterator:
            break
        yield agent_pb2.InvokeEvent(
            sequence=1,
            final=agent_pb2.FinalOutput(message=agent_pb2.Message(author=caller.principal)),
        )


@pytest.fixture
async def probe():
    servicer = ProbeAgent()
    srv = server.MeshServer("probe", ServerSettings(mesh_key=KEY))
    srv.add_service(agent_pb2_grpc.add_AgentServiceServicer_to_server, servicer)
    port = await srv.start()
    yield servicer, f"127.0.0.1:{port}"
    await srv.stop(0)


def token_for(principal: str, key: bytes = KEY) -> tuple:
    who = identity.Identity(principal=principal, tenant="acme", roles=("operator",))
    return ((identity.METADATA_KEY, identity.sign(who, key)),)


async def test_signed_identity_reaches_the_servicer(probe):
    _, address = probe
    async with grpc.aio.insecure_channel(address) as channel:
        stub = agent_pb2_grpc.AgentServiceStub(channel)
        reply = await stub.GetAgentCard(
            agent_pb2.GetAgentCardRequest(), metadata=token_for("user:alice")
        )
    assert (reply.card.name, reply.card.description) == ("user:alice", "acme")


@pytest.mark.parametrize(
    "metadata",
    [
        (),
        token_for("user:alice", key=b"forged-key-forged-key-forged-key!!"),
        (("x-airspace-identity", "nonsense"),),
    ],
    ids=["missing", "forged", "garbage"],
)
async def test_calls_without_a_valid_identity_are_refused(probe, metadata):
    _, address = probe
    async with grpc.aio.insecure_channel(address) as channel:
        stub = agent_pb2_grpc.AgentServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await stub.GetAgentCard(agent_pb2.GetAgentCardRequest(), metadata=metadata)
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_domain_errors_carry_field_violations_and_error_info(probe):
    _, address = probe
    async with grpc.aio.insecure_channel(address) as channel:
        stub = agent_pb2_grpc.AgentServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await stub.GetAgentCard(agent_pb2.GetAgentCardRequest(), metadata=token_for("user:bad"))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(failure.value)
    bad_request = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad_request) for d in status.details)
    assert bad_request.field_violations[0].field == "card.name"
    rebuilt = errors.from_rpc_error(failure.value)
    assert isinstance(rebuilt, errors.InvalidArgument)
    assert rebuilt.violations == [("card.name", "name is required")]


async def test_unexpected_errors_are_internal_without_leaking(probe):
    _, address = probe
    async with grpc.aio.insecure_channel(address) as channel:
        stub = agent_pb2_grpc.AgentServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await stub.GetAgentCard(
                agent_pb2.GetAgentCardRequest(), metadata=token_for("user:boom")
            )
    assert failure.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in failure.value.details()
    assert "incident" in failure.value.details()


async def test_health_serves_each_service_and_reflection_resolves_methods(probe):
    _, address = probe
    async with grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "airspace.agent.v1.AgentService"):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        requests = [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="airspace.agent.v1.AgentService.Invoke"
            ),
            reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="airspace.agent.v1.AgentService.NoSuchMethod"
            ),
        ]
        replies = [r async for r in reflection.ServerReflectionInfo(iter(requests))]
    listed = {s.name for s in replies[0].list_services_response.service}
    assert "airspace.agent.v1.AgentService" in listed
    assert replies[1].file_descriptor_response.file_descriptor_proto
    assert replies[2].error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


async def test_channel_passes_identity_and_a_deadline(probe):
    servicer, address = probe
    settings = ServerSettings(mesh_key=KEY)
    async with channels.open_channel(
        address, settings, default_timeout=2.0, as_identity=channels.mesh_identity("router")
    ) as channel:
        stub = agent_pb2_grpc.AgentServiceStub(channel)
        reply = await stub.GetAgentCard(agent_pb2.GetAgentCardRequest())
    assert reply.card.name == "service:router"
    assert 0 < servicer.remaining[-1] <= 2.5  # clock granularity


async def test_health_watchers_see_not_serving_on_shutdown():
    srv = server.MeshServer("probe", ServerSettings(mesh_key=KEY, grace_seconds=1.0))
    srv.add_service(agent_pb2_grpc.add_AgentServiceServicer_to_server, ProbeAgent())
    port = await srv.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        first = await watch.read()
        stopping = asyncio.create_task(srv.stop())
        second = await watch.read()
        await stopping
    assert first.status == health_pb2.HealthCheckResponse.SERVING
    assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_streaming_calls_through_the_channel_carry_identity_and_deadline(probe):
    servicer, address = probe
    settings = ServerSettings(mesh_key=KEY)
    async with channels.open_channel(
        address, settings, default_timeout=3.0, as_identity=channels.mesh_identity("router")
    ) as channel:
        stub = agent_pb2_grpc.AgentServiceStub(channel)
        start = agent_pb2.InvokeRequest(start=agent_pb2.InvokeStart(run_id="r"))
        events = [event async for event in stub.Invoke(iter([start]))]
    assert events[0].final.message.author == "service:router"
    assert 0 < servicer.remaining[-1] <= 3.5


async def test_the_interceptor_wraps_each_method_once_and_rewraps_a_new_handler():
    interceptor = MeshInterceptor(KEY, True, set())
    handlers = {"/airspace.agent.v1.AgentService/GetAgentCard": unary_handler()}

    async def continuation(details):
        return handlers.get(details.method)

    path = "/airspace.agent.v1.AgentService/GetAgentCard"
    first = await interceptor.intercept_service(continuation, Details(path))
    assert await interceptor.intercept_service(continuation, Details(path)) is first
    handlers[path] = unary_handler()  # a server that hands out a new handler is followed
    assert await interceptor.intercept_service(continuation, Details(path)) is not first
    assert await interceptor.intercept_service(continuation, Details("/no.Such/Method")) is None


class Details(grpc.HandlerCallDetails):
    def __init__(self, method: str):
        self.method = method
        self.invocation_metadata = ()


def unary_handler() -> grpc.RpcMethodHandler:
    async def behavior(request, context):
        return request

    return grpc.unary_unary_rpc_method_handler(behavior)
