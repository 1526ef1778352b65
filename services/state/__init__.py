"""The state service: durable runs, event logs, step journals, workflows, agents,
approvals, shared memory and run leases (airspace.state.v1.StateService)."""
