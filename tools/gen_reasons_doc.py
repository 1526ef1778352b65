"""Writes docs/reasons.md, the catalogue of reasons, from the comments of the values of
airspace.v1.ErrorReason (protos/airspace/v1/reasons.proto); --check fails if it is stale."""

import argparse
import pathlib
import sys

from airspace.mesh.reasons import explanations

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "reasons.md"

INTRO = """\
# Reasons

Every failed run, failed step attempt and refused call names one reason from this catalogue.
A refused call carries it as the `reason` of a `google.rpc.ErrorInfo` (domain `airspace.dev`).
The message of a failed run's `error` starts with it (`BUDGET_EXCEEDED at step s0003-draft:
...`), as does the message of a failed step attempt (`step_failed.error.message`);
`airspace.router.run_errors.failure_status` builds a run's error with the ErrorInfo as well.
`airspace runs show` explains a failed run's reason and what to do, the CLI adds what to do
to a refused call, and the router's `airspace_router_runs_failed_total` is labelled with these
codes. A call refused without a reason of its own carries the name of its gRPC status code
(`NOT_FOUND`, say).

The catalogue is the enum `airspace.v1.ErrorReason` in
[protos/airspace/v1/reasons.proto](../protos/airspace/v1/reasons.proto), and
`airspace.mesh.reasons.Reason` in Python. This page is written from the enum's comments by
`python tools/gen_reasons_doc.py` (run by `make proto`).

| code | meaning | typical cause | what to do |
|---|---|---|---|
"""


def render() -> str:
    rows = [
        f"| `{reason}` | {said.meaning} | {said.cause} | {said.action} |"
        for reason, said in explanations().items()
    ]
    return INTRO + "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the page is stale")
    args = parser.parse_args()
    if not args.check:
        DOC.write_text(render())
    elif not DOC.exists() or DOC.read_text() != render():
        sys.exit(f"{DOC} is stale: run `python tools/gen_reasons_doc.py`")


if __name__ == "__main__":
    main()
