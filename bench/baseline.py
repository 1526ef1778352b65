"""The in-process baseline: a three-step LangGraph graph with durable SqliteSaver checkpoints.

Each node does what a bench agent does (passes the text on and records that it ran), so
the comparison is the orchestration and durability cost alone. Needs the `bench` extra:
`pip install -e '.[bench]'`.
"""

from __future__ import annotations

import operator
import pathlib
import sqlite3
import uuid
from typing import Annotated, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

STEPS = ("first", "second", "third")


class _State(TypedDict):
    text: str
    done_by: Annotated[list[str], operator.add]


def _step(name: str):
    def run(state: _State) -> dict:
        return {"done_by": [name]}

    return run


class ThreeStepGraph:
    """Runs the graph on a new thread (its own checkpoint history) per run."""

    def __init__(self, path: pathlib.Path):
        # SqliteSaver serializes access itself; setup() switches the file to WAL.
        self._connection = sqlite3.connect(path, check_same_thread=False)
        saver = SqliteSaver(self._connection)
        saver.setup()
        builder = StateGraph(_State)
        previous = START
        for name in STEPS:
            builder.add_node(name, _step(name))
            builder.add_edge(previous, name)
            previous = name
        builder.add_edge(previous, END)
        self._graph = builder.compile(checkpointer=saver)

    def run_once(self) -> dict:
        return self._graph.invoke(
            {"text": "benchmark input", "done_by": []},
            {"configurable": {"thread_id": uuid.uuid4().hex}},
        )

    def close(self) -> None:
        self._connection.close()
