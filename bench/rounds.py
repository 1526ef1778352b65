"""Measurements taken side by side: each warms up, then they take turns in short rounds,
so drift on the machine (other load, heat, a growing database) touches all of them alike.
A load's meters read around each of its rounds, settling included, so that work a round
sets off late (batched spans, group commits) is counted with it and with no other load;
they nest, so a meter listed first takes its readings outside the spans of the others."""

from __future__ import annotations

import asyncio
import dataclasses

from bench import loadgen
from bench.meters import Meter
from bench.report import Measured

# Lets exports and writes a round set off (batched spans) finish before the next round.
SETTLE_SECONDS = 0.7


@dataclasses.dataclass(frozen=True)
class Timing:
    warm_up: float  # seconds per load, not counted
    rounds: int
    seconds: float  # per load and round

    def estimate(self, loads: int) -> float:
        return loads * (self.warm_up + self.rounds * (self.seconds + SETTLE_SECONDS))


@dataclasses.dataclass
class Load:
    name: str
    unit: str  # what one call is: "runs" or "calls"
    concurrency: int
    call: loadgen.Call
    meters: tuple[Meter, ...] = ()
    result: loadgen.LoadResult | None = None

    async def warm_up(self, seconds: float) -> None:
        await loadgen.drive(self.call, self.concurrency, duration=seconds)

    async def round(self, seconds: float) -> None:
        taken = await loadgen.drive(self.call, self.concurrency, duration=seconds)
        self.result = taken if self.result is None else self.result.merged(taken)

    def measured(self) -> Measured:
        if self.result is None:
            raise RuntimeError(f"{self.name} has not been measured")
        return Measured(self.name, self.unit, self.concurrency, self.result)


async def take_turns(loads: list[Load], timing: Timing) -> list[Measured]:
    """Warm-ups first, then `timing.rounds` rounds; each round starts one load later."""
    for load in loads:
        await load.warm_up(timing.warm_up)
        await asyncio.sleep(SETTLE_SECONDS)
    for turn in range(timing.rounds):
        first = turn % len(loads)
        for load in loads[first:] + loads[:first]:
            for meter in load.meters:
                meter.start()
            await load.round(timing.seconds)
            await asyncio.sleep(SETTLE_SECONDS)
            for meter in reversed(load.meters):  # nested: the first read outlasts the rest
                meter.stop()
    return [load.measured() for load in loads]
