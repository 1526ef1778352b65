"""Workflow documents: parsing, validation, and the immutable spec the patterns run."""

from airspace.router.spec.checker import NAME_PATTERN
from airspace.router.spec.model import RetryPolicy, Step, WorkflowSpec
from airspace.router.spec.validate import END, parse_source, validate

__all__ = ["END", "NAME_PATTERN", "RetryPolicy", "Step", "WorkflowSpec", "parse_source", "validate"]
