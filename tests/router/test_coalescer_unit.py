"""Coalescing concurrent requests into batch calls (router/coalescer.py), and the runs'
writes riding on it (router/repositories/run_writes.py): the first request goes at once,
those that arrive while it is in flight go together next; each caller gets its own
outcome; a failed batch fails every caller in it; a write the state service could not
take yet is sent again alone."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from airspace.mesh import deadlines, errors
from airspace.router.coalescer import Coalescer
from airspace.router.repositories.run_writes import RunWrites
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit


class Destination:
    """Records each batch; holds a batch until released when `hold` is set."""

    def __init__(self, answer=lambda items: [item * 10 for item in items]):
        self.batches: list[list[int]] = []
        self.answer = answer
        self.hold: asyncio.Event | None = None

    async def send(self, items: list[int]):
        self.batches.append(list(items))
        if self.hold is not None:
            await self.hold.wait()
        return self.answer(items)


async def test_requests_in_flight_together_share_the_next_batch():
    destination = Destination()
    destination.hold = asyncio.Event()
    batches = Coalescer(destination.send, "the test service", "test", max_items=10)
    first = asyncio.create_task(batches.submit(1))
    await asyncio.sleep(0)
    later = [asyncio.create_task(batches.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    assert destination.batches == [[1]]  # sent at once, alone: nobody waits for a timer
    destination.hold.set()
    assert await first == 10
    assert await asyncio.gather(*later) == [20, 30, 40]
    assert destination.batches == [[1], [2, 3, 4]]


async def test_batches_keep_to_their_count_and_size_but_a_large_item_still_goes():
    destination = Destination()
    batches = Coalescer(
        destination.send, "the test service", "test", max_items=3, max_bytes=10, size=lambda n: n
    )
    results = await asyncio.gather(*(batches.submit(n) for n in (1, 1, 1, 1, 4, 4, 4, 25, 2)))
    assert results == [10, 10, 10, 10, 40, 40, 40, 250, 20]
    assert destination.batches == [[1, 1, 1], [1, 4, 4], [4], [25], [2]]


async def test_each_caller_gets_its_own_error_or_the_failure_of_its_whole_batch():
    refused = errors.FailedPrecondition("not this one")
    destination = Destination(lambda items: [refused if n == 2 else n for n in items])
    batches = Coalescer(destination.send, "the test service", "test", max_items=10)
    outcomes = await asyncio.gather(*(batches.submit(n) for n in (1, 2, 3)), return_exceptions=True)
    assert outcomes == [1, refused, 3]

    async def broken(items):
        raise KeyError("a bug")

    failing = Coalescer(broken, "the test service", "test", max_items=10)
    outcomes = await asyncio.gather(*(failing.submit(n) for n in (1, 2)), return_exceptions=True)
    assert all(isinstance(outcome, errors.Unavailable) for outcome in outcomes)
    assert "the test service cannot be reached" in str(outcomes[0])

    short = Coalescer(
        Destination(lambda items: items[:1]).send, "the test service", "test", max_items=10
    )
    outcomes = await asyncio.gather(*(short.submit(n) for n in (1, 2)), return_exceptions=True)
    assert all(isinstance(outcome, errors.Internal) for outcome in outcomes)


async def test_a_batch_carries_none_of_its_first_callers_deadline():
    seen = []

    async def send(items):
        seen.append(deadlines.remaining())
        return items

    batches = Coalescer(send, "the test service", "test", max_items=10)
    deadlines.bind(0.5)  # as when serving a call that has half a second left
    assert await batches.submit(1) == 1
    assert seen == [None]


async def test_a_cancelled_callers_request_still_goes_and_close_sends_what_is_queued():
    destination = Destination()
    destination.hold = asyncio.Event()
    batches = Coalescer(destination.send, "the test service", "test", max_items=10)
    first = asyncio.create_task(batches.submit(1))
    await asyncio.sleep(0)
    gone = asyncio.create_task(batches.submit(2))
    await asyncio.sleep(0)
    gone.cancel()
    destination.hold.set()
    await batches.close()
    assert await first == 10 and gone.cancelled()
    assert destination.batches == [[1], [2]]


class FakeState:
    """BatchWriteRuns of a state service whose store is busy for the first answer of each
    run named in `busy_once`, or that is down for the first `down` calls."""

    def __init__(self, busy_once=(), down: int = 0):
        self.calls: list[list[str]] = []
        self.busy_once = set(busy_once)
        self.down = down

    async def BatchWriteRuns(self, request: state_pb2.BatchWriteRunsRequest, timeout=None):
        self.calls.append([write.append_events.run_id for write in request.writes])
        if self.down:
            self.down -= 1
            raise Unavailable()
        results = []
        for write in request.writes:
            run_id = write.append_events.run_id
            if run_id in self.busy_once:
                self.busy_once.discard(run_id)
                busy = errors.Unavailable("the state store is busy", retry_after=1.0)
                results.append(state_pb2.RunWriteResult(error=busy.to_status()))
            else:
                appended = state_pb2.AppendEventsResponse(
                    last_sequence=len(write.append_events.events)
                )
                results.append(state_pb2.RunWriteResult(append_events=appended))
        return state_pb2.BatchWriteRunsResponse(results=results)


class Unavailable(grpc.aio.AioRpcError):
    def __init__(self):
        super().__init__(
            grpc.StatusCode.UNAVAILABLE,
            grpc.aio.Metadata(),
            grpc.aio.Metadata(),
            "connection refused",
        )


def appending(run_id: str) -> state_pb2.AppendEventsRequest:
    event = run_pb2.RunEvent(step_started=run_pb2.StepStarted(step_name="draft"))
    return state_pb2.AppendEventsRequest(tenant="acme", run_id=run_id, events=[event])


async def test_a_write_the_store_could_not_take_yet_is_sent_again_alone():
    state = FakeState(busy_once={"r2"})
    writes = RunWrites(state, max_message_bytes=4 << 20)  # type: ignore[arg-type]
    answers = await asyncio.gather(*(writes.append(appending(r)) for r in ("r1", "r2", "r3")))
    assert [answer.last_sequence for answer in answers] == [1, 1, 1]
    assert state.calls == [["r1", "r2", "r3"], ["r2"]]


async def test_writes_ride_out_a_state_service_that_is_down_and_keep_other_errors():
    state = FakeState(down=2)
    writes = RunWrites(state, max_message_bytes=4 << 20)  # type: ignore[arg-type]
    answer = await writes.append(appending("r1"))
    assert answer.last_sequence == 1 and state.calls == [["r1"]] * 3

    class Refusing(FakeState):
        async def BatchWriteRuns(self, request, timeout=None):
            refused = errors.Aborted("run 'r1' is at sequence 3, not 2")
            return state_pb2.BatchWriteRunsResponse(
                results=[state_pb2.RunWriteResult(error=refused.to_status())]
            )

    with pytest.raises(errors.Aborted, match="not 2"):
        await RunWrites(Refusing(), max_message_bytes=4 << 20).append(appending("r1"))  # type: ignore[arg-type]
