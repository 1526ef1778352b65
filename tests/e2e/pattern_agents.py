"""Small deterministic agents for pattern tests; behaviour comes from step parameters."""

from __future__ import annotations

import asyncio

from airspace.agents.kit import Agent, Handoff, Reply


def answering(name: str, verdict: str, confidence: float = 0.9, delay: float = 0.0) -> Agent:
    """Answers `verdict` in data.verdict (after `delay` seconds)."""
    agent = Agent(name=name, version="1.0.0", description=f"answers {verdict}")

    @agent.handler
    async def answer(task):
        await asyncio.sleep(delay)
        return Reply(
            text=f"{name} says {verdict}", data={"verdict": verdict}, confidence=confidence
        )

    return agent


def recording(name: str, seen: list, *, final_after: int = 0, confidence: float = 0.9) -> Agent:
    """Records (name, context authors, input text) and says its turn; says final after N turns."""
    agent = Agent(name=name, version="1.0.0", description="takes part and records what it saw")
    turns = {"count": 0}

    @agent.handler
    async def speak(task):
        turns["count"] += 1
        seen.append((name, [m.author for m in task.context], task.text, dict(task.data)))
        final = bool(final_after) and turns["count"] >= final_after
        return Reply(
            text=f"{name} turn {turns['count']}",
            data={"final": final, "by": name},
            confidence=confidence,
        )

    return agent


def handing_off(
    name: str,
    target: str,
    seen: list | None = None,
    data: dict | None = None,
    answer_at: int = 0,
) -> Agent:
    """Asks to hand off to `target`; at its `answer_at`th task (when set) it answers instead.
    Records (name, allowed handoffs, context authors, hops left, hop count)."""
    agent = Agent(name=name, version="1.0.0", description=f"hands off to {target}", handoff=True)
    tasks = {"count": 0}

    @agent.handler
    async def hand(task):
        tasks["count"] += 1
        if seen is not None:
            authors = [m.author for m in task.context]
            hops_left = task.start.budget.hops_left
            seen.append((name, list(task.allowed_handoffs), authors, hops_left, task.hop_count))
        if tasks["count"] == answer_at:
            return Reply(text=f"{name} answers", data={"by": name})
        return Handoff(
            target=target, reason=f"{target} knows best", text=f"over to {target}", data=data or {}
        )

    return agent
