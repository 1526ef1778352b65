"""The policy service: airspace.policy.v1.PolicyService (internal) and airspace.v1.AuditService."""
