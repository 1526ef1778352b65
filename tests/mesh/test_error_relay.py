"""from_rpc_error rebuilds a callee's error from whatever status it sent: details that do
not match the status, do not decode, or hold out-of-range values are left out, never raised."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from airspace.mesh import errors

pytestmark = pytest.mark.mesh

DETAILS_KEY = "grpc-status-details-bin"


def packed(detail) -> any_pb2.Any:
    holder = any_pb2.Any()
    holder.Pack(detail)
    return holder


def info(reason: str) -> any_pb2.Any:
    return packed(error_details_pb2.ErrorInfo(reason=reason, domain=errors.ERROR_DOMAIN))


@pytest.fixture
async def failing():
    """A server whose one method fails with NOT_FOUND and the trailer it is asked for."""
    trailers: dict[str, bytes] = {}

    async def fail(request, context):
        await context.abort(
            grpc.StatusCode.NOT_FOUND, "run 'r' not found", ((DETAILS_KEY, trailers["details"]),)
        )

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "t.T", {"F": grpc.unary_unary_rpc_method_handler(fail)}
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")

    async def call_with(details: bytes) -> errors.MeshError:
        trailers["details"] = details
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await channel.unary_unary("/t.T/F")(b"")
        return errors.from_rpc_error(failure.value)

    yield call_with
    await channel.close()
    await server.stop(0)


async def test_details_of_another_status_are_left_out(failing):
    other = status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT, message="else", details=[info("MALFORMED_REQUEST")]
    )
    error = await failing(other.SerializeToString())
    assert isinstance(error, errors.NotFound)
    assert (error.message, error.reason, error.violations) == ("run 'r' not found", "NOT_FOUND", [])


async def test_details_that_are_not_a_status_are_left_out(failing):
    error = await failing(b"\xff\x00 not a status")
    assert isinstance(error, errors.NotFound) and error.reason == "NOT_FOUND"


async def test_a_detail_that_does_not_decode_is_left_out_and_the_others_kept(failing):
    broken = any_pb2.Any(
        type_url="type.googleapis.com/google.rpc.BadRequest", value=b"\xff\xff\xff"
    )
    status = status_pb2.Status(
        code=code_pb2.NOT_FOUND, message="run 'r' not found", details=[broken, info("RUN_PRUNED")]
    )
    error = await failing(status.SerializeToString())
    assert (error.reason, error.violations) == ("RUN_PRUNED", [])


async def test_a_retry_delay_out_of_range_is_left_out(failing):
    endless = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2**62))
    status = status_pb2.Status(
        code=code_pb2.NOT_FOUND, message="run 'r' not found", details=[packed(endless)]
    )
    error = await failing(status.SerializeToString())
    assert isinstance(error, errors.NotFound) and error.retry_after is None
