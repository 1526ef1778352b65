"""The SQLite span store: traces, runs, search paging, duplicates and retention."""

import pytest

from airspace.tracing.sqlite_store import SqliteSpanStore
from airspace.tracing.store import SpanEvent, SpanFilter, SpanRecord

pytestmark = pytest.mark.unit

TRACE_A = "a" * 32
TRACE_B = "b" * 32


def span(
    trace_id: str, number: int, parent: int | None = None, start: int | None = None, **attributes
) -> SpanRecord:
    start = number * 1000 if start is None else start
    return SpanRecord(
        trace_id=trace_id,
        span_id=f"{number:016x}",
        parent_span_id="" if parent is None else f"{parent:016x}",
        name=attributes.pop("name", f"span-{number}"),
        service=attributes.pop("service", "router"),
        kind="SPAN_KIND_INTERNAL",
        start_unix_nano=start,
        end_unix_nano=start + 500,
        status_code=attributes.pop("status", "OK"),
        status_message="",
        attributes=attributes,
        events=(SpanEvent("note", start + 1, {"n": number, "tags": ["x"]}),),
        sender=attributes.pop("sender", "service:airspace-router"),
    )


@pytest.fixture
async def store(tmp_path):
    opened = await SqliteSpanStore.open(tmp_path / "traces.db", max_spans=1000)
    yield opened
    await opened.close()


async def test_trace_round_trips_in_start_order(store):
    spans = [
        span(TRACE_A, 3, parent=1),
        span(TRACE_A, 1, **{"airspace.run.id": "run-1", "nested": {"k": [1, 2]}}),
        span(TRACE_A, 2, parent=1),
        span(TRACE_B, 4),
    ]

    assert await store.add(spans) == 4

    found = await store.trace(TRACE_A)
    assert [s.span_id for s in found] == [f"{n:016x}" for n in (1, 2, 3)]
    assert found[0] == spans[1]
    assert await store.trace("c" * 32) == []


async def test_resent_spans_are_ignored(store):
    first = span(TRACE_A, 1, name="original")

    assert await store.add([first]) == 1
    assert await store.add([span(TRACE_A, 1, name="retry"), span(TRACE_A, 2)]) == 1

    assert [s.name for s in await store.trace(TRACE_A)] == ["original", "span-2"]


async def test_run_trace_is_the_trace_of_the_earliest_span_naming_the_run(store):
    await store.add(
        [
            span(TRACE_B, 5, **{"airspace.run.id": "run-1"}),
            span(TRACE_A, 2, **{"airspace.run.id": "run-1"}),
            span(TRACE_A, 3),
        ]
    )

    assert await store.run_trace_id("run-1") == TRACE_A
    assert await store.run_trace_id("run-2") is None


async def test_search_filters_combine(store):
    await store.add(
        [
            span(TRACE_A, 1, name="invoke_agent extractor", **{"gen_ai.agent.name": "extractor"}),
            span(TRACE_A, 2, name="invoke_agent reviewer", status="ERROR"),
            span(TRACE_A, 3, name="Invoke_agent upper", service="gateway"),
            span(TRACE_B, 4, name="policy check", **{"airspace.workflow.name": "contracts"}),
        ]
    )

    async def names(**filters):
        found, _ = await store.search(SpanFilter(**filters), None, 100)
        return [s.name for s in found]

    assert await names(name_prefix="invoke_") == ["invoke_agent reviewer", "invoke_agent extractor"]
    assert await names(name_prefix="invoke%") == []
    assert await names(service="gateway") == ["Invoke_agent upper"]
    assert await names(status_code="ERROR") == ["invoke_agent reviewer"]
    assert await names(agent="extractor") == ["invoke_agent extractor"]
    assert await names(workflow="contracts") == ["policy check"]
    assert await names(start_after=2000, start_before=4000) == [
        "Invoke_agent upper",
        "invoke_agent reviewer",
    ]
    assert await names(service="router", status_code="OK") == [
        "policy check",
        "invoke_agent extractor",
    ]


async def test_search_pages_newest_first_without_gaps_on_equal_times(store):
    await store.add([span(TRACE_A, n, start=1000 * (n // 2)) for n in range(1, 8)])

    seen, cursor = [], None
    while True:
        page, cursor = await store.search(SpanFilter(), cursor, 3)
        seen += [s.span_id for s in page]
        if cursor is None:
            break

    starts = [int(s, 16) // 2 for s in seen]
    assert sorted(seen) == [f"{n:016x}" for n in range(1, 8)]
    assert starts == sorted(starts, reverse=True)


async def test_retention_prunes_the_oldest_spans(tmp_path):
    store = await SqliteSpanStore.open(tmp_path / "traces.db", max_spans=3)
    try:
        await store.add([span(TRACE_A, n) for n in (2, 3)])
        await store.add([span(TRACE_A, 4), span(TRACE_A, 1), span(TRACE_A, 5)])

        assert [s.span_id for s in await store.trace(TRACE_A)] == [f"{n:016x}" for n in (3, 4, 5)]
    finally:
        await store.close()


async def test_retention_counts_spans_already_on_disk(tmp_path):
    path = tmp_path / "traces.db"
    first = await SqliteSpanStore.open(path, max_spans=10)
    await first.add([span(TRACE_A, n) for n in (1, 2, 3)])
    await first.close()

    reopened = await SqliteSpanStore.open(path, max_spans=3)
    try:
        await reopened.add([span(TRACE_A, 4)])
        assert [s.span_id for s in await reopened.trace(TRACE_A)] == [
            f"{n:016x}" for n in (2, 3, 4)
        ]
    finally:
        await reopened.close()
