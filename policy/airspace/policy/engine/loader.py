"""Reads a bundle file and validates every part of it; errors name the file and the path,
for example:

    default.yaml: rules[3].when: unknown variable 'subjet' (allowed: ...)
"""

from __future__ import annotations

import hashlib
import pathlib
import re
from collections.abc import Set
from typing import Any, NoReturn

import yaml

from airspace.policy.engine import checkpoints
from airspace.policy.engine.bundle import Bundle, PiiEntityPolicy, PiiPolicy, Rule
from airspace.policy.engine.conditions import ConditionError, compile_condition
from airspace.policy.engine.model import Effect, MaskOperator
from airspace.policy.engine.pii.detectors import DATA_CLASS, DATA_CLASSES, ENTITIES
from airspace.policy.engine.pii.masking import PARTIAL_ENTITIES

_NAME = re.compile(r"[a-z0-9][a-z0-9._\-]*")
_CODE = re.compile(r"[A-Z][A-Z0-9_]*")
_DEFAULT_PII_CHECKPOINTS = ("step.input", "step.output")


class BundleError(ValueError):
    def __init__(self, source: str, path: str, problem: str):
        self.source, self.path, self.problem = source, path, problem
        super().__init__(f"{source}: {path}: {problem}" if path else f"{source}: {problem}")


def load_bundle(path: str | pathlib.Path) -> Bundle:
    path = pathlib.Path(path)
    return parse_bundle(read_bundle(path), path.name)


def read_bundle(path: pathlib.Path) -> bytes:
    """The bundle file's bytes, which its digest is taken of."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BundleError(path.name, "", f"cannot read: {exc.strerror or exc}") from exc


def parse_bundle(raw: bytes, source: str) -> Bundle:
    try:
        document = yaml.load(raw, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise BundleError(source, "", f"{where}{exc.problem}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BundleError(source, "", f"not valid YAML: {exc}") from exc
    return _Parser(source).bundle(document, hashlib.sha256(raw).hexdigest())


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys instead of silently keeping the last one."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


class _Parser:
    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, problem: str) -> NoReturn:
        raise BundleError(self.source, path, problem)

    def bundle(self, document: Any, digest: str) -> Bundle:
        top = self.mapping(
            document,
            "",
            required={"name", "version", "roles"},
            optional={"description", "dry_run", "rules", "pii"},
        )
        name = self.string(top["name"], "name", _NAME)
        version = self.string(top["version"], "version")
        dry_run = self.boolean(top.get("dry_run", False), "dry_run")
        roles = self.roles(top["roles"])
        rules = self.rules(top.get("rules", []), roles)
        return Bundle(
            name=name,
            version=version,
            dry_run=dry_run,
            roles=roles,
            rules=rules,
            pii=self.pii(top.get("pii", {}), roles),
            source=self.source,
            digest=digest,
        )

    def roles(self, value: Any) -> dict[str, frozenset[str]]:
        roles = {}
        for name, grants in self.mapping(value, "roles", open_keys=True).items():
            path = f"roles.{name}"
            self.string(name, path, _NAME)
            for index, grant in enumerate(self.string_list(grants, path)):
                if not checkpoints.is_known_grant(grant):
                    self.fail(f"{path}[{index}]", f"unknown permission '{grant}'")
            roles[name] = frozenset(grants)
        if not roles:
            self.fail("roles", "at least one role is required")
        return roles

    def rules(self, value: Any, roles: dict) -> tuple[Rule, ...]:
        if not isinstance(value, list):
            self.fail("rules", "must be a list")
        rules = []
        seen: dict[str, str] = {}  # rule id -> where it was first defined
        for index, item in enumerate(value):
            rule = self.rule(item, f"rules[{index}]", roles)
            if rule.id in seen:
                self.fail(
                    f"rules[{index}].id", f"duplicate rule id '{rule.id}' (see {seen[rule.id]})"
                )
            seen[rule.id] = f"rules[{index}]"
            rules.append(rule)
        return tuple(rules)

    def rule(self, value: Any, path: str, roles: dict) -> Rule:
        fields = self.mapping(
            value,
            path,
            required={"id", "when", "effect", "reason"},
            optional={"checkpoint", "checkpoints", "approver_role", "description"},
        )
        effect_name = self.string(fields["effect"], f"{path}.effect")
        if effect_name not in Effect._value2member_map_:
            self.fail(f"{path}.effect", f"must be one of {', '.join(e.value for e in Effect)}")
        effect = Effect(effect_name)
        approver = fields.get("approver_role", "")
        if effect is Effect.REQUIRE_APPROVAL:
            approver = self.string(approver, f"{path}.approver_role")
            if approver not in roles:
                self.fail(f"{path}.approver_role", f"'{approver}' is not a role of this bundle")
        elif approver:
            self.fail(f"{path}.approver_role", "only rules with effect require_approval have one")
        try:
            condition = compile_condition(fields["when"])
        except ConditionError as exc:
            self.fail(f"{path}.when", str(exc))
        return Rule(
            id=self.string(fields["id"], f"{path}.id", _NAME),
            checkpoints=self.rule_checkpoints(fields, path),
            condition=condition,
            effect=effect,
            reason=self.string(fields["reason"], f"{path}.reason", _CODE),
            approver_role=approver,
            description=(
                self.string(fields["description"], f"{path}.description")
                if "description" in fields
                else ""
            ),
        )

    def rule_checkpoints(self, fields: dict, path: str) -> frozenset[str]:
        if ("checkpoint" in fields) == ("checkpoints" in fields):
            self.fail(path, "give exactly one of checkpoint, checkpoints")
        if "checkpoint" in fields:
            return self.checkpoint_list([fields["checkpoint"]], f"{path}.checkpoint", single=True)
        return self.checkpoint_list(fields["checkpoints"], f"{path}.checkpoints")

    def checkpoint_list(self, value: Any, path: str, single: bool = False) -> frozenset[str]:
        names = self.string_list(value, path)
        if not names:
            self.fail(path, "at least one checkpoint is required")
        for index, name in enumerate(names):
            if name not in checkpoints.CHECKPOINTS:
                where = path if single else f"{path}[{index}]"
                self.fail(where, f"unknown checkpoint '{name}'")
        return frozenset(names)

    def pii(self, value: Any, roles: dict) -> PiiPolicy:
        fields = self.mapping(
            value, "pii", optional={"checkpoints", "entities", "hash_length", "clearances"}
        )
        hash_length = fields.get("hash_length", 12)
        if not isinstance(hash_length, int) or isinstance(hash_length, bool):
            self.fail("pii.hash_length", "must be an integer")
        if not 8 <= hash_length <= 64:
            self.fail("pii.hash_length", "must be between 8 and 64")
        configured = self.mapping(fields.get("entities", {}), "pii.entities", open_keys=True)
        entities = {}
        for entity in ENTITIES:
            default = {"clearance": DATA_CLASS[entity], "operator": MaskOperator.REDACT.value}
            entities[entity] = self.pii_entity(
                entity, {**default, **self.pii_entity_fields(configured, entity)}
            )
        for name in configured:
            if name not in ENTITIES:
                self.fail(f"pii.entities.{name}", f"unknown entity (known: {', '.join(ENTITIES)})")
        pii_checkpoints = fields.get("checkpoints", list(_DEFAULT_PII_CHECKPOINTS))
        return PiiPolicy(
            checkpoints=self.checkpoint_list(pii_checkpoints, "pii.checkpoints"),
            entities=entities,
            hash_length=hash_length,
            role_clearances=self.role_clearances(fields.get("clearances", {}), roles),
        )

    def role_clearances(self, value: Any, roles: dict) -> dict[str, frozenset[str]]:
        cleared = {}
        for role, classes in self.mapping(value, "pii.clearances", open_keys=True).items():
            path = f"pii.clearances.{role}"
            if role not in roles:
                self.fail(path, f"'{role}' is not a role of this bundle")
            for index, name in enumerate(self.string_list(classes, path)):
                if name not in DATA_CLASSES:
                    self.fail(
                        f"{path}[{index}]", f"must be one of {', '.join(sorted(DATA_CLASSES))}"
                    )
            cleared[role] = frozenset(classes)
        return cleared

    def pii_entity_fields(self, configured: dict, entity: str) -> dict:
        if entity not in configured:
            return {}
        return self.mapping(
            configured[entity], f"pii.entities.{entity}", optional={"clearance", "operator"}
        )

    def pii_entity(self, entity: str, fields: dict) -> PiiEntityPolicy:
        path = f"pii.entities.{entity}"
        clearance = self.string(fields["clearance"], f"{path}.clearance")
        if clearance not in DATA_CLASSES:
            self.fail(f"{path}.clearance", f"must be one of {', '.join(sorted(DATA_CLASSES))}")
        operator = self.string(fields["operator"], f"{path}.operator")
        if operator not in MaskOperator._value2member_map_:
            self.fail(f"{path}.operator", f"must be one of {', '.join(MaskOperator)}")
        if operator == MaskOperator.PARTIAL and entity not in PARTIAL_ENTITIES:
            self.fail(f"{path}.operator", f"PARTIAL would leak part of a {entity}")
        return PiiEntityPolicy(clearance, MaskOperator(operator))

    # -- typed reads -------------------------------------------------------

    def mapping(
        self,
        value: Any,
        path: str,
        required: Set[str] = frozenset(),
        optional: Set[str] = frozenset(),
        open_keys: bool = False,
    ) -> dict:
        if not isinstance(value, dict):
            self.fail(path, "must be a mapping")
        prefix = f"{path}." if path else ""
        for key in value:
            if not isinstance(key, str):
                self.fail(f"{prefix}{key}", "keys must be strings")
            if not open_keys and key not in required | optional:
                expected = ", ".join(sorted(required | optional))
                self.fail(f"{prefix}{key}", f"unknown field (expected one of: {expected})")
        for key in sorted(required - value.keys()):
            self.fail(f"{prefix}{key}", "is required")
        return value

    def string(self, value: Any, path: str, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str) or not value:
            self.fail(path, "must be a non-empty string")
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(path, f"'{value}' does not match {pattern.pattern}")
        return value

    def string_list(self, value: Any, path: str) -> list[str]:
        if not isinstance(value, list):
            self.fail(path, "must be a list of strings")
        for index, item in enumerate(value):
            self.string(item, f"{path}[{index}]")
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, "must be true or false")
        return value
