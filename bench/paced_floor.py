"""The bare gRPC floor's CPU per run at fixed rates, as against flat out.

`python -m bench` measures the mesh and the floor the same way, 16 runs in flight, so each
runs as fast as it can: the floor several times faster than the mesh. A gRPC process pays
for every wake-up of its event loop and of gRPC's poller, and at a high rate one wake-up
serves several messages; at the mesh's rate each message pays its own. This benchmark
starts runs of the floor at fixed rates (open loop, a run every 1/rate seconds, however
long each takes) and reads the floor processes' CPU per run at each, so that the mesh's
cost can be compared with the floor's at the same rate:

    python -m bench.paced_floor [--rates 40,80,160] [--seconds 6]

Run by hand, not by `make bench` or the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import pathlib
import tempfile
import time

import grpc

from bench import cpu, floor, loadgen
from bench.meters import Meter

# Runs in flight at most, whatever the rate: past it the floor cannot keep the rate.
MAX_IN_FLIGHT = 256
# Runs a measurement starts at least, however low the rate or short the time.
MIN_RUNS = 20


@dataclasses.dataclass(frozen=True)
class Paced:
    completed: int
    failed: int
    seconds: float

    @property
    def runs_per_s(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0


async def measured_at(call: loadgen.Call, rate: float, seconds: float, meter: Meter) -> Paced:
    """Runs started at `rate` for about `seconds`, with `meter` read around them."""
    meter.start()
    began = time.perf_counter()
    completed, failed = await paced(call, rate, max(MIN_RUNS, int(rate * seconds)))
    took = time.perf_counter() - began
    meter.stop()
    return Paced(completed, failed, took)


async def paced(call: loadgen.Call, rate: float, runs: int) -> tuple[int, int]:
    """Starts `runs` calls, one every 1/rate seconds: (runs completed, runs failed)."""
    outcomes: list[bool] = []
    in_flight: set[asyncio.Task] = set()

    async def one() -> None:
        status, _, _ = await loadgen.outcome(call)
        outcomes.append(status == "OK")

    began = time.perf_counter()
    for started in range(runs):
        await asyncio.sleep(max(0.0, began + started / rate - time.perf_counter()))
        if len(in_flight) < MAX_IN_FLIGHT:
            task = asyncio.get_running_loop().create_task(one())
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
    await asyncio.gather(*in_flight)
    return outcomes.count(True), outcomes.count(False)


async def measure(rates: list[float], seconds: float) -> None:
    with tempfile.TemporaryDirectory() as home:
        bare = floor.Floor(pathlib.Path(home))
        bare.start()
        try:
            async with grpc.aio.insecure_channel(bare.address) as channel:
                call = floor.run(channel)
                await paced(call, 50, 50)  # warm-up
                print(f"{'runs/s asked':>12}  {'runs/s done':>11}  {'CPU ms/run':>10}  by process")
                for rate in rates:
                    meter = Meter(cpu.reader(bare.cpu_groups()))
                    taken = await measured_at(call, rate, seconds, meter)
                    per_run = meter.per(taken.completed, 1000)
                    shares = ", ".join(f"{name} {ms:.2f}" for name, ms in per_run.items())
                    failed = f" ({taken.failed} failed)" if taken.failed else ""
                    print(
                        f"{rate:>12.0f}  {taken.runs_per_s:>11.1f}  "
                        f"{sum(per_run.values()):>10.2f}  {shares}{failed}"
                    )
        finally:
            bare.stop()


def rate_list(text: str) -> list[float]:
    rates = [float(part) for part in text.split(",") if part.strip()]
    if not rates or any(rate <= 0 for rate in rates):
        raise argparse.ArgumentTypeError("give positive rates, comma-separated (e.g. 40,80)")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.paced_floor", description=__doc__)
    parser.add_argument("--rates", type=rate_list, default=[40.0, 80.0, 160.0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per rate")
    args = parser.parse_args()
    asyncio.run(measure(args.rates, args.seconds))


if __name__ == "__main__":
    main()
