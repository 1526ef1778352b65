"""`airspace keys create|list|revoke`: the gateway's API keys, for the admins of a tenant
(role admin) or of the mesh (role mesh-admin)."""

from __future__ import annotations

import argparse

from google.protobuf import duration_pb2
from rich.text import Text

from airspace.cli import args as cli_args
from airspace.cli.connection import connect, paged
from airspace.cli.output import OK, console, format_time, print_json, print_listing, table
from airspace.v1 import api_key_pb2


def register(sub) -> None:
    keys = cli_args.add_group(sub, "keys", "create, list and revoke the gateway's API keys")

    create = cli_args.add_command(
        keys,
        "create",
        "create an API key and print it (shown only this once)",
        """
        airspace keys create --principal service:billing --roles operator --expires 30d
        airspace keys create --principal user:ana --tenant acme --roles admin,operator
        """,
        description="Create a key for a principal of a tenant (yours by default) and print "
        "it; the gateway stores only its hash. Tenant admins create keys for their tenant, "
        "mesh admins for any.",
    )
    create.add_argument("--principal", required=True, help="who the key authenticates")
    create.add_argument("--tenant", default="", help="the principal's tenant (default yours)")
    create.add_argument(
        "--roles", required=True, type=_roles, help="roles, comma-separated: admin,operator"
    )
    create.add_argument(
        "--expires", type=_ttl, metavar="AGE", help="how long the key works, e.g. 30d or 12h"
    )
    cli_args.json_flag(create)
    create.set_defaults(handler=create_key)

    listing = cli_args.add_command(
        keys,
        "list",
        "list a tenant's API keys (never their secrets)",
        """
        airspace keys list
        airspace keys list --tenant acme --json
        """,
    )
    listing.add_argument("--tenant", default="", help="whose keys (default yours)")
    cli_args.limit_flag(listing)
    cli_args.json_flag(listing)
    listing.set_defaults(handler=list_keys)

    revoke = cli_args.add_command(
        keys,
        "revoke",
        "revoke an API key: calls with it are refused from then on",
        """
        airspace keys revoke 3f9a1c2b7d4e
        """,
    )
    revoke.add_argument("key_id", metavar="ID", help="the key's id (`airspace keys list`)")
    revoke.set_defaults(handler=revoke_key)


def _roles(text: str) -> list[str]:
    roles = [role.strip() for role in text.split(",") if role.strip()]
    if not roles:
        raise argparse.ArgumentTypeError("expected one role or more, comma-separated")
    return roles


def _ttl(text: str) -> duration_pb2.Duration:
    seconds = cli_args.age_seconds(text)
    if not seconds:
        raise argparse.ArgumentTypeError(f"expected an age like 30d, 12h or 15m, got {text!r}")
    return duration_pb2.Duration(seconds=seconds)


def create_key(args) -> int:
    request = api_key_pb2.CreateApiKeyRequest(
        tenant=args.tenant, principal=args.principal, roles=args.roles, ttl=args.expires
    )
    with connect(args) as client:
        created = client.keys.CreateApiKey(request)
    if args.json:
        print_json(created)
        return OK
    print(created.key)
    key = created.api_key
    expiry = f", expires {format_time(key.expire_time)}" if key.HasField("expire_time") else ""
    console(stderr=True).print(
        f"key {key.key_id} for {key.principal} ({key.tenant}; {', '.join(key.roles)}){expiry}. "
        "It is shown only this once.",
        style="dim",
    )
    return OK


def list_keys(args) -> int:
    request = api_key_pb2.ListApiKeysRequest(tenant=args.tenant)
    with connect(args) as client:
        keys, more = paged(client.keys.ListApiKeys, request, "api_keys", args.limit)
    if args.json:
        print_json(keys)
        return OK
    rows = table("ID", "PRINCIPAL", "TENANT", "ROLES", "CREATED", "EXPIRES", "STATE")
    for key in keys:
        rows.add_row(
            key.key_id,
            key.principal,
            key.tenant,
            ",".join(key.roles),
            format_time(key.create_time),
            format_time(key.expire_time),
            Text("revoked", style="red") if key.HasField("revoke_time") else "active",
        )
    print_listing(rows, len(keys), more, args.limit, "API keys")
    return OK


def revoke_key(args) -> int:
    with connect(args) as client:
        key = client.keys.RevokeApiKey(api_key_pb2.RevokeApiKeyRequest(key_id=args.key_id)).api_key
    console().print(f"key {key.key_id} of {key.principal} is revoked")
    return OK
