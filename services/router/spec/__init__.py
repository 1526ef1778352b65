"""Workflow documents: parsing, validation, and the immutable spec the patterns run."""

from services.router.spec.checker import NAME_PATTERN
from services.router.spec.model import RetryPolicy, Step, WorkflowSpec
from services.router.spec.validate import END, parse_source, validate

__all__ = ["END", "NAME_PATTERN", "RetryPolicy", "Step", "WorkflowSpec", "parse_source", "validate"]
