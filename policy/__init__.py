"""The policy/guardrail service and its engine: RBAC, CEL rules, PII masking and audit."""
