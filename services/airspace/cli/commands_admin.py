"""`airspace admin prune`: delete the payloads of runs that ended long ago (admins only);
`airspace admin migrate`: bring this machine's state database to the current schema;
`airspace admin api-key`: add a key to a gateway's API key file (for a deployment);
`airspace admin telemetry-credential`: an agent's credential for the trace collector."""

from __future__ import annotations

import argparse
import datetime
import pathlib

from google.protobuf import timestamp_pb2

from airspace.cli import args as cli_args
from airspace.cli.connection import connect
from airspace.cli.output import FAILED, OK, UsageError, console, print_json, to_dict
from airspace.gateway.api_keys import ApiKeyStore
from airspace.mesh import identity, settings, telemetry_credentials
from airspace.state.settings import ENV_PREFIX, StateSettings
from airspace.v1 import admin_pb2


def register(sub) -> None:
    admin = cli_args.add_group(sub, "admin", "administer the mesh's stored data")
    prune = cli_args.add_command(
        admin,
        "prune",
        "delete the events, journal, input and output of runs that ended before a time",
        """
        airspace admin prune --finished-before 30d --dry-run
        airspace admin prune --finished-before 2025-01-31T00:00:00Z
        """,
        description="Delete the payloads (events, step journal, input, output, run memory) "
        "of your tenant's runs that ended before a time; run records stay. Needs an admin.",
    )
    prune.add_argument(
        "--finished-before",
        required=True,
        type=finished_before,
        metavar="AGE|TIME",
        help="an age (30d, 12h, 90m, 45s) or an RFC 3339 time (2025-01-31T00:00:00Z)",
    )
    prune.add_argument(
        "--dry-run", action="store_true", help="count what would be deleted; delete nothing"
    )
    cli_args.json_flag(prune)
    prune.set_defaults(handler=prune_runs)

    migrate = cli_args.add_command(
        admin,
        "migrate",
        "apply the pending schema migrations to the state database",
        """
        airspace admin migrate
        airspace admin migrate --database /var/lib/airspace/state.db
        airspace admin migrate --url postgresql://airspace@db.internal:5432/airspace
        """,
        description="Apply the schema migrations the state database lacks, as the state "
        "service does when it starts; print what was applied. A SQLite file needs the state "
        "service stopped first; PostgreSQL migrations wait for each other and for starting "
        "state services.",
    )
    migrate.add_argument(
        "--url",
        metavar="URL",
        help="a PostgreSQL database (default: the state service's, $AIRSPACE_STATE_URL)",
    )
    migrate.add_argument(
        "--database",
        metavar="PATH",
        help="the SQLite file, when no URL is set (default: the state service's, "
        "$AIRSPACE_STATE_DATABASE or state.db in $AIRSPACE_DATA_DIR)",
    )
    cli_args.json_flag(migrate)
    migrate.set_defaults(handler=migrate_state)

    api_key = cli_args.add_command(
        admin,
        "api-key",
        "add an API key to a gateway's key file and print the key (shown only this once)",
        """
        airspace admin api-key --file compose/secrets/api_keys.json --principal user:ops \\
            --tenant default --role admin --role operator
        """,
        description="Add an API key for a principal to the file the gateway reads "
        "(AIRSPACE_GATEWAY_API_KEYS_FILE; only a hash is stored) and print the key.",
    )
    api_key.add_argument("--file", required=True, metavar="PATH", help="the API key file")
    api_key.add_argument("--principal", required=True, help="who the key authenticates")
    api_key.add_argument("--tenant", default="default", help="the principal's tenant")
    api_key.add_argument(
        "--role", action="append", default=[], dest="roles", help="a role (repeat for several)"
    )
    api_key.set_defaults(handler=add_api_key)

    credential = cli_args.add_command(
        admin,
        "telemetry-credential",
        "print the credential an agent exports its spans with (as registration issues it)",
        """
        airspace admin telemetry-credential --mesh-key-file compose/secrets/mesh.key \
            --agent contract-extractor --tenant default
        """,
        description="Print the telemetry credential of an agent of a tenant, signed with the "
        "mesh key, so the agent can start with it (AIRSPACE_AGENT_TELEMETRY_CREDENTIAL) before it "
        "is registered; the same one RegisterAgent returns.",
    )
    credential.add_argument(
        "--mesh-key-file", required=True, metavar="PATH", help="the mesh key the collector has"
    )
    credential.add_argument("--agent", required=True, help="the agent's registered name")
    credential.add_argument("--tenant", default="default", help="the tenant it is registered in")
    credential.set_defaults(handler=print_telemetry_credential)


def finished_before(text: str) -> timestamp_pb2.Timestamp:
    """The cut-off: now minus an age, or an explicit time."""
    stamp = timestamp_pb2.Timestamp()
    seconds = cli_args.age_seconds(text)
    if seconds is not None:
        stamp.FromDatetime(
            datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=seconds)
        )
        return stamp
    try:
        stamp.FromJsonString(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected an age like 30d or an RFC 3339 time, got {text!r}"
        ) from exc
    return stamp


def prune_runs(args) -> int:
    total = admin_pb2.PruneRunsResponse()
    with connect(args) as client:
        while True:
            response = client.admin.PruneRuns(
                admin_pb2.PruneRunsRequest(
                    finished_before=args.finished_before, validate_only=args.dry_run
                )
            )
            total.pruned_runs += response.pruned_runs
            total.deleted_events += response.deleted_events
            total.deleted_journal_entries += response.deleted_journal_entries
            if not response.more:
                break
    if args.json:
        print_json({**to_dict(total), "dry_run": args.dry_run})
        return OK
    before = args.finished_before.ToJsonString()
    verb = "would prune" if args.dry_run else "pruned"
    console().print(
        f"{verb} {total.pruned_runs} runs that ended before {before}: "
        f"{total.deleted_events} events, {total.deleted_journal_entries} journal entries"
    )
    return OK


def migrate_state(args) -> int:
    # Imported here: the stores' modules would slow the start of every other command.
    from airspace.state import opening
    from airspace.state.migrations import SchemaTooNewError

    overrides = {
        name: value for name, value in (("url", args.url), ("database", args.database)) if value
    }
    config = settings.load(StateSettings, ENV_PREFIX, **overrides)
    try:
        result = opening.migrate(config)
    except SchemaTooNewError as error:
        console(stderr=True).print(f"error: {error}")
        return FAILED
    applied = [{"version": m.version, "description": m.description} for m in result.applied]
    if args.json:
        print_json({"database": config.store_name, "version": result.version, "applied": applied})
        return OK
    for migration in result.applied:
        console().print(f"applied {migration.version}: {migration.description}")
    console().print(f"{config.store_name} is at schema version {result.version}")
    return OK


def print_telemetry_credential(args) -> int:
    try:
        mesh_key = pathlib.Path(args.mesh_key_file).read_bytes().strip()
    except OSError as exc:
        raise UsageError(f"cannot read the mesh key {args.mesh_key_file}: {exc.strerror}") from exc
    if len(mesh_key) < identity.MIN_KEY_BYTES:
        raise UsageError(
            f"{args.mesh_key_file} holds no mesh key ({identity.MIN_KEY_BYTES}+ bytes)"
        )
    sender = telemetry_credentials.agent(args.tenant, args.agent)
    print(telemetry_credentials.issue(mesh_key, sender))
    return OK


def add_api_key(args) -> int:
    key = ApiKeyStore(args.file).create(args.principal, args.tenant, tuple(args.roles))
    print(key)
    return OK
