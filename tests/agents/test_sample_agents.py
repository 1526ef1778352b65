"""The sample agents: extraction, checks and summary on the sample contract, alone and chained
over real gRPC the way a sequential workflow would run them."""

from __future__ import annotations

import pathlib

import pytest
from agent_helpers import data_message, invoke, start_request, struct
from google.protobuf import json_format

from airspace.agent.v1 import agent_pb2
from airspace.agents.kit import AgentFailure
from airspace.agents.samples import compliance_checker, contract_extractor, summary_writer
from airspace.agents.samples.compliance_checker import Rules, check_contract
from airspace.agents.samples.contract_extractor import extract_contract, found_fields
from airspace.agents.samples.summary_writer import write_summary

pytestmark = pytest.mark.mesh

MSA = (pathlib.Path(__file__).resolve().parents[2] / "workflows" / "inputs" / "msa.txt").read_text(
    encoding="utf-8"
)

MSA_FIELDS = {
    "parties": [
        {"name": "Northwind Analytics GmbH", "role": "Provider"},
        {"name": "Bluefin Logistics Ltd.", "role": "Customer"},
    ],
    "effective_date": "2025-03-01",
    "term_months": 36,
    "termination_notice_days": 60,
    "payment_amount": 240000.0,
    "payment_currency": "EUR",
    "liability_cap_amount": 500000.0,
    "liability_cap_currency": "EUR",
    "governing_law": "Ireland",
    "signatory_emails": [
        "katrin.vogel@northwind-analytics.example",
        "d.murphy@bluefin-logistics.example",
    ],
}


def test_extracts_every_field_of_the_sample_contract():
    assert extract_contract(MSA) == MSA_FIELDS


def test_extraction_handles_other_wordings():
    text = (
        'This Agreement is dated 1st June 2024 between Acme Widgets Inc. ("Vendor") and '
        'Globex LLC ("Client"). The initial term of two (2) years starts today. The Client '
        "shall pay fees of USD 12,500 per month. Either party may terminate on 90 days notice. "
        "This Agreement shall be governed by and construed in accordance with the laws of the "
        "State of New York."
    )

    fields = extract_contract(text)

    assert [p["name"] for p in fields["parties"]] == ["Acme Widgets Inc.", "Globex LLC"]
    assert fields["effective_date"] == "2024-06-01"
    assert fields["term_months"] == 24
    assert fields["termination_notice_days"] == 90
    assert (fields["payment_amount"], fields["payment_currency"]) == (12500.0, "USD")
    assert fields["governing_law"] == "State of New York"
    assert fields["liability_cap_amount"] is None
    assert fields["signatory_emails"] is None


def test_missing_fields_are_none():
    fields = extract_contract("A short note with no contract terms.")

    assert found_fields(fields) == []
    assert set(fields) == set(contract_extractor.FIELDS)


def test_sample_contract_passes_default_rules_but_needs_approval():
    result = check_contract(MSA_FIELDS, Rules())

    assert result["compliant"]
    assert result["requires_approval"]
    by_rule = {f["rule"]: f for f in result["findings"]}
    assert set(by_rule) == {
        "min_notice_days",
        "require_liability_cap",
        "allowed_governing_laws",
        "approval_threshold",
    }
    assert all(by_rule[rule]["passed"] for rule in list(by_rule)[:3])
    assert not by_rule["approval_threshold"]["passed"]
    assert by_rule["approval_threshold"]["severity"] == "medium"
    assert "EUR 240,000.00" in by_rule["approval_threshold"]["message"]


def test_rules_from_parameters_override_the_defaults():
    rules = Rules.from_parameters(
        {"min_notice_days": 90.0, "allowed_governing_laws": ["Delaware"], "approval_threshold": 1e6}
    )

    result = check_contract(MSA_FIELDS, rules)

    failed = {f["rule"] for f in result["findings"] if not f["passed"]}
    assert failed == {"min_notice_days", "allowed_governing_laws"}
    assert not result["compliant"]
    assert not result["requires_approval"]


@pytest.mark.parametrize(
    "parameters",
    [
        {"min_notice_days": "thirty"},
        {"require_liability_cap": 1},
        {"allowed_governing_laws": "Ireland"},
    ],
)
def test_a_parameter_of_the_wrong_type_is_invalid_input(parameters):
    with pytest.raises(AgentFailure) as caught:
        Rules.from_parameters(parameters)

    assert caught.value.kind == "INVALID_INPUT"
    assert next(iter(parameters)) in caught.value.message


def test_missing_fields_fail_and_lower_confidence():
    fields = {"governing_law": "Ireland", "payment_amount": 10.0}

    result = check_contract(fields, Rules())

    assert not result["compliant"]
    assert compliance_checker.coverage(fields) == 0.5
    assert compliance_checker.coverage(MSA_FIELDS) == 1.0


def test_summary_covers_terms_and_findings_without_pii():
    facts = MSA_FIELDS | check_contract(MSA_FIELDS, Rules())

    summary = write_summary(facts)

    assert summary.startswith(
        "Agreement between Northwind Analytics GmbH (Provider) and Bluefin Logistics Ltd. (Customer)."
    )
    for expected in (
        "2025-03-01",
        "36 months",
        "EUR 240,000.00",
        "60 days' notice",
        "EUR 500,000.00",
        "Ireland",
    ):
        assert expected in summary
    assert "Approval is required" in summary
    assert "@" not in summary


def test_summary_says_what_is_missing():
    summary = write_summary({"governing_law": "Germany"})

    assert "unidentified parties" in summary
    assert "- Fees: not found" in summary
    assert summary_writer.coverage({"governing_law": "Germany"}) == pytest.approx(0.17)


def data_of(event: agent_pb2.InvokeEvent) -> dict:
    return json_format.MessageToDict(event.final.data)


async def test_the_three_samples_chain_over_grpc(connect):
    extractor = await connect(contract_extractor.agent)
    checker = await connect(compliance_checker.agent)
    writer = await connect(summary_writer.agent)

    extracted = (await invoke(extractor, start_request(MSA, key="extract")))[-1]
    fields = data_of(extracted)
    checked = (
        await invoke(
            checker,
            start_request(data=fields, key="check", parameters=struct({"min_notice_days": 45})),
        )
    )[-1]
    findings = data_of(checked)
    summary_events = await invoke(
        writer,
        start_request(
            "Summarize for the reviewer.",
            context=[
                data_message("contract-extractor", fields),
                data_message("compliance-checker", findings),
            ],
            key="summarize",
        ),
    )

    assert extracted.final.confidence == pytest.approx(1.0)
    assert fields["termination_notice_days"] == 60
    assert findings["compliant"] and findings["requires_approval"]
    assert checked.final.confidence == pytest.approx(1.0)
    assert [e.WhichOneof("kind") for e in summary_events] == ["partial", "final"]
    summary = summary_events[-1].final.message.parts[0].text
    assert "60 days' notice" in summary
    assert "Approval is required" in summary
    assert summary_events[-1].final.artifacts[0].name == "summary.txt"


async def test_checker_extracts_from_text_when_given_no_fields(connect):
    checker = await connect(compliance_checker.agent)

    events = await invoke(checker, start_request(MSA))

    assert data_of(events[-1])["compliant"] is True


async def test_samples_reject_empty_input(connect):
    for sample in (contract_extractor, compliance_checker, summary_writer):
        stub = await connect(sample.agent)
        events = await invoke(stub, start_request("", key=f"empty-{sample.agent.name}"))
        assert events[-1].error.kind == agent_pb2.AGENT_ERROR_KIND_INVALID_INPUT


async def test_sample_cards(connect):
    stub = await connect(contract_extractor.agent)

    card = (await stub.GetAgentCard(agent_pb2.GetAgentCardRequest())).card

    assert card.name == "contract-extractor"
    assert list(card.clearances) == [agent_pb2.DATA_CLASS_PII]
