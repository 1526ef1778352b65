"""Sample agent: reviews a customer's invoices for the case and names billing as the root
cause when a period was billed twice (the refund is the duplicate charges' sum)."""

from __future__ import annotations

from airspace.agents.kit import Agent, Reply, Task
from airspace.agents.samples.accounts import account, duplicate_charges
from airspace.agents.samples.contract_extractor import format_money

agent = Agent(
    name="billing-analyst",
    version="1.0.0",
    description="Reviews an account's invoices for duplicate or wrong charges.",
    skills=[
        {
            "id": "review-invoices",
            "name": "Review invoices",
            "description": "Finds periods billed twice and the refund they call for.",
            "tags": ["support", "billing"],
        }
    ],
)


def review_invoices(record: dict) -> dict:
    duplicates = duplicate_charges(record["invoices"])
    refund = round(sum(invoice["amount"] for invoice in duplicates), 2)
    return {
        "root_cause": "billing" if duplicates else "none",
        "duplicates": [invoice["invoice"] for invoice in duplicates],
        "refund_amount": refund,
        "currency": record["currency"],
    }


@agent.handler
def review(task: Task) -> Reply:
    record = account(task.data.get("account_id"))
    finding = review_invoices(record)
    if not finding["duplicates"]:
        return Reply(text="Invoices are in order.", data=finding, confidence=0.8)
    periods = ", ".join(finding["duplicates"])
    refund = format_money(finding["refund_amount"], finding["currency"])
    return Reply(
        text=f"Billed twice: {periods} repeats a billed period; refund {refund}.",
        data=finding,
        confidence=0.9,
    )


if __name__ == "__main__":
    agent.serve()
