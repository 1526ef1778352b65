"""airspace.v1.ApiKeyService: the gateway's API keys, managed over the API.

The gateway serves it itself, since it keeps the keys. Each call authenticates like a
forwarded one; a tenant's admins manage its keys, mesh admins every tenant's, and
only mesh admins may grant the mesh-admin role (else a tenant admin could make
itself one). A key of another tenant is NOT_FOUND to a tenant admin, as a run is.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import grpc
from google.protobuf import timestamp_pb2

from airspace.gateway.api_keys import ApiKeyRecord, ApiKeyStore
from airspace.gateway.authn import Authenticator
from airspace.mesh import errors, identity
from airspace.v1 import api_key_pb2, api_key_pb2_grpc

TENANT_ADMIN = "admin"
MESH_ADMIN = "mesh-admin"
MAX_ROLES = 16
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
_ROLE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 1000


class ApiKeyServicer(api_key_pb2_grpc.ApiKeyServiceServicer):
    def __init__(self, authenticator: Authenticator):
        self._authenticator = authenticator
        self._keys: ApiKeyStore = authenticator.keys

    async def CreateApiKey(
        self,
        request: api_key_pb2.CreateApiKeyRequest,
        context: grpc.aio.ServicerContext[
            api_key_pb2.CreateApiKeyRequest, api_key_pb2.CreateApiKeyResponse
        ],
    ) -> api_key_pb2.CreateApiKeyResponse:
        caller = await self._caller(context)
        tenant = _admin_of(caller, request.tenant)
        _check_name(request.principal, "principal")
        roles = _checked_roles(list(request.roles))
        if MESH_ADMIN in roles and MESH_ADMIN not in caller.roles:
            raise errors.PermissionDenied(f"only a mesh admin may grant the {MESH_ADMIN} role")
        ttl = request.ttl.ToTimedelta().total_seconds() if request.HasField("ttl") else None
        if ttl is not None and ttl <= 0:
            raise errors.InvalidArgument("ttl must be a positive duration", field="ttl")
        with _writable():
            key, record = self._keys.issue(
                request.principal, tenant, roles, ttl_seconds=ttl, created_by=caller.principal
            )
        return api_key_pb2.CreateApiKeyResponse(api_key=_api_key(record), key=key)

    async def ListApiKeys(
        self,
        request: api_key_pb2.ListApiKeysRequest,
        context: grpc.aio.ServicerContext[
            api_key_pb2.ListApiKeysRequest, api_key_pb2.ListApiKeysResponse
        ],
    ) -> api_key_pb2.ListApiKeysResponse:
        tenant = _admin_of(await self._caller(context), request.tenant)
        if request.page_size < 0:
            raise errors.InvalidArgument("page_size must not be negative", field="page_size")
        size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        if request.page_token and not request.page_token.isdigit():
            raise errors.InvalidArgument(
                "page_token is not one of this listing's", field="page_token"
            )
        start = int(request.page_token or 0)
        records = self._keys.of_tenant(tenant)
        page = records[start : start + size]
        more = start + size < len(records)
        return api_key_pb2.ListApiKeysResponse(
            api_keys=[_api_key(record) for record in page],
            next_page_token=str(start + size) if more else "",
        )

    async def RevokeApiKey(
        self,
        request: api_key_pb2.RevokeApiKeyRequest,
        context: grpc.aio.ServicerContext[
            api_key_pb2.RevokeApiKeyRequest, api_key_pb2.RevokeApiKeyResponse
        ],
    ) -> api_key_pb2.RevokeApiKeyResponse:
        caller = await self._caller(context)
        if not request.key_id:
            raise errors.InvalidArgument("key_id is required", field="key_id")
        record = self._keys.get(request.key_id)
        if record is None or not _administers(caller, record.tenant):
            _admin_of(caller, caller.tenant)  # a caller who is no admin learns only that
            raise errors.NotFound(f"API key {request.key_id[:32]!r} not found")
        with _writable():
            revoked = self._keys.revoke(request.key_id)
        return api_key_pb2.RevokeApiKeyResponse(api_key=_api_key(revoked))

    async def _caller(self, context: grpc.aio.ServicerContext) -> identity.Identity:
        return await self._authenticator.authenticate(context.invocation_metadata())


@contextlib.contextmanager
def _writable() -> Iterator[None]:
    """A key file the gateway cannot write (a mounted Kubernetes Secret, say) is the
    deployment's choice, not an internal error."""
    try:
        yield
    except OSError as exc:
        raise errors.FailedPrecondition(
            f"the gateway cannot write its API key file ({exc.strerror}); add keys to the"
            " file with `airspace admin api-key` where it is kept"
        ) from exc


def _administers(caller: identity.Identity, tenant: str) -> bool:
    return MESH_ADMIN in caller.roles or (TENANT_ADMIN in caller.roles and caller.tenant == tenant)


def _admin_of(caller: identity.Identity, tenant: str) -> str:
    """The tenant asked for (the caller's by default), once the caller administers it."""
    tenant = tenant or caller.tenant
    _check_name(tenant, "tenant")
    if not _administers(caller, tenant):
        raise errors.PermissionDenied(
            f"only an admin of tenant {tenant} (or a mesh admin) manages its API keys"
        )
    return tenant


def _check_name(value: str, field: str) -> None:
    if not value:
        raise errors.InvalidArgument(f"{field} is required", field=field)
    if not _NAME.match(value):
        raise errors.InvalidArgument(
            f"{field} must be 1-128 letters, digits and . _ : @ -", field=field
        )


def _checked_roles(roles: list[str]) -> tuple[str, ...]:
    if not roles:
        raise errors.InvalidArgument("roles must hold one role or more", field="roles")
    if len(roles) > MAX_ROLES:
        raise errors.InvalidArgument(f"roles may hold at most {MAX_ROLES} roles", field="roles")
    for index, role in enumerate(roles):
        if not _ROLE.match(role):
            raise errors.InvalidArgument(
                f"roles[{index}] must be 1-64 lowercase letters, digits, _ and -",
                field=f"roles[{index}]",
            )
    return tuple(dict.fromkeys(roles))


def _api_key(record: ApiKeyRecord) -> api_key_pb2.ApiKey:
    api_key = api_key_pb2.ApiKey(
        name=f"apiKeys/{record.key_id}",
        key_id=record.key_id,
        principal=record.principal,
        tenant=record.tenant,
        roles=record.roles,
        created_by=record.created_by,
    )
    for field, seconds in (
        ("create_time", record.create_time),
        ("expire_time", record.expire_time),
        ("revoke_time", record.revoke_time),
    ):
        if seconds is not None:
            stamp = timestamp_pb2.Timestamp()
            stamp.FromNanoseconds(int(seconds * 1e9))
            getattr(api_key, field).CopyFrom(stamp)
    return api_key
