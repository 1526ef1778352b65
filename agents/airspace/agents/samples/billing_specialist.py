"""Sample agent: settles a billing ticket from the account's invoices, drafting the reply."""

from __future__ import annotations

from airspace.agents.kit import Agent, Reply, Task
from airspace.agents.samples.accounts import account, duplicate_charges
from airspace.agents.samples.contract_extractor import format_money

agent = Agent(
    name="billing-specialist",
    version="1.0.0",
    description="Settles billing tickets: finds wrong charges and drafts the reply.",
    skills=[
        {
            "id": "settle-billing-ticket",
            "name": "Settle a billing ticket",
            "description": "Refunds duplicate charges and explains the invoice.",
            "tags": ["support", "billing"],
        }
    ],
)


@agent.handler
def settle(task: Task) -> Reply:
    record = account(task.data.get("account_id"))
    duplicates = duplicate_charges(record["invoices"])
    if not duplicates:
        return Reply(
            text="Every period is billed once; the reply explains the invoice lines.",
            data={"resolution": "explained", "refund_amount": 0.0},
            confidence=0.7,
        )
    refund = round(sum(invoice["amount"] for invoice in duplicates), 2)
    invoices = ", ".join(f"{i['invoice']} ({i['period']})" for i in duplicates)
    return Reply(
        text=f"Refund {format_money(refund, record['currency'])} for {invoices}, billed twice. "
        "Reply: we are sorry for the double charge; the refund reaches you in 5 working days.",
        data={
            "resolution": "refund",
            "refund_amount": refund,
            "currency": record["currency"],
            "invoices": [i["invoice"] for i in duplicates],
        },
        confidence=0.9,
    )


if __name__ == "__main__":
    agent.serve()
