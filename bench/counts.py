"""Work per run as the services count it on their Prometheus endpoints: gRPC calls handled
(by method) and durable commits, each one fsync (by store)."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Hashable, Iterable

from prometheus_client.parser import text_string_to_metric_families

from bench.meters import Readings

HANDLED = "airspace_grpc_server_handled_total"
COMMITS = {
    "airspace_state_commits_total": "state_store",
    "airspace_audit_commits_total": "policy_audit_log",
    "airspace_audit_witness_publications_total": "policy_audit_witness",
}
CALLS, FSYNCS = "calls", "fsyncs"
SCRAPE_TIMEOUT_SECONDS = 5.0


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_SECONDS) as response:
        return response.read().decode()


def counted(exposition: str) -> Readings:
    """(CALLS, "Service/Method") -> calls handled, whatever their code, and
    (FSYNCS, store) -> durable commits, from one process's metrics."""
    found: dict[Hashable, float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == HANDLED:
                # The package is noise in a report: StateService, not airspace.state.v1.StateService.
                service = sample.labels["grpc_service"].rpartition(".")[2]
                key = (CALLS, f"{service}/{sample.labels['grpc_method']}")
            elif sample.name in COMMITS:
                key = (FSYNCS, COMMITS[sample.name])
            else:
                continue
            found[key] = found.get(key, 0.0) + sample.value
    return found


def reader(urls: Iterable[str]) -> Callable[[], Readings]:
    """Reads the counts of every process serving metrics at `urls`, added together."""
    urls = tuple(urls)

    def read() -> Readings:
        total: dict = {}
        for url in urls:
            for key, value in counted(scrape(url)).items():
                total[key] = total.get(key, 0.0) + value
        return total

    return read


def split(per_run: dict) -> tuple[dict[str, float], dict[str, float]]:
    """Per-run counts as (calls by method, fsyncs by store), largest first; a method
    called only outside the measured rounds is left out."""

    def kind(wanted: str) -> dict[str, float]:
        picked = {name: value for (k, name), value in per_run.items() if k == wanted and value}
        return dict(sorted(picked.items(), key=lambda item: (-item[1], item[0])))

    return kind(CALLS), kind(FSYNCS)
