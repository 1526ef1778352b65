"""Settings from the environment, one prefix per service.

`load(StateSettings, "STATE")` reads AIRSPACE_STATE_PORT, falling back to
AIRSPACE_PORT, then to the dataclass default. The mesh key may be given inline
(AIRSPACE_MESH_KEY) or, better, as a file (AIRSPACE_MESH_KEY_FILE).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import sys
import typing

from airspace.mesh import errors
from airspace.mesh.tls import TlsSettings

ENV_PREFIX = "AIRSPACE_"
LOG_FORMATS = ("text", "json")


@dataclasses.dataclass
class ServerSettings(TlsSettings):
    host: str = "127.0.0.1"
    port: int = 0
    data_dir: str = ".airspace"
    max_message_bytes: int = 4 * 1024 * 1024
    max_concurrent_rpcs: int = 1000
    mesh_key: bytes = b""
    mesh_key_file: str = ""
    otlp_endpoint: str = ""
    grace_seconds: float = 5.0
    # Prometheus /metrics over HTTP on the server's host: -1 off, 0 any free port.
    metrics_port: int = -1
    # Log lines as "text" or "json" (one object per line, with run and trace ids).
    log_format: str = "text"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.log_format not in LOG_FORMATS:
            raise errors.InvalidArgument(
                f"log_format must be one of {', '.join(LOG_FORMATS)}, not {self.log_format!r}",
                field="log_format",
            )
        if not self.mesh_key and self.mesh_key_file:
            self.mesh_key = pathlib.Path(self.mesh_key_file).read_bytes().strip()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def data_path(self, name: str) -> pathlib.Path:
        folder = pathlib.Path(self.data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name


S = typing.TypeVar("S", bound=TlsSettings)


def load(
    cls: type[S],
    prefix: str,
    *,
    environ: typing.Mapping[str, str] | None = None,
    **overrides,
) -> S:
    """Settings from `environ` (this process's environment by default), then `overrides`."""
    environ = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        if field.name in overrides:
            values[field.name] = overrides[field.name]
            continue
        raw = _lookup(environ, prefix, field.name)
        if raw is not None:
            values[field.name] = _convert(hints[field.name], raw, _env_name(prefix, field.name))
    return cls(**values)


def from_command_line(
    cls: type[S], prefix: str, description: str | None, argv: typing.Sequence[str] | None = None
) -> S:
    """A service's settings, after answering `--help` with the environment variables it reads
    (services take no flags: their settings come from the environment)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    parser = argparse.ArgumentParser(
        prog=f"python -m {spec.name}" if spec else None,
        description=(description or "").strip(),
        epilog="settings (each also read without its service part, e.g. AIRSPACE_PORT):\n"
        + "\n".join(_described(cls, prefix)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    return load(cls, prefix)


def _described(cls: type, prefix: str) -> list[str]:
    lines = []
    for field in dataclasses.fields(cls):
        default = field.default if field.default is not dataclasses.MISSING else None
        shown = (
            ""
            if default in (None, "", b"") or isinstance(default, bytes)
            else f" (default {default})"
        )
        lines.append(f"  {_env_name(prefix, field.name)}{shown}")
    return lines


def _env_name(prefix: str, name: str) -> str:
    return f"{ENV_PREFIX}{prefix}_{name.upper()}" if prefix else f"{ENV_PREFIX}{name.upper()}"


def _lookup(environ: typing.Mapping[str, str], prefix: str, name: str) -> str | None:
    for key in (_env_name(prefix, name), _env_name("", name)):
        if key in environ:
            return environ[key]
    return None


def _convert(kind, raw: str, env_name: str):
    try:
        if kind is bool:
            if raw.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes", "on")
        if kind is bytes:
            return raw.encode()
        if kind in (int, float, str):
            return kind(raw)
        if typing.get_origin(kind) in (tuple, list):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise errors.InvalidArgument(
            f"{env_name}={raw!r} is not a valid {getattr(kind, '__name__', kind)}", field=env_name
        ) from exc
    raise TypeError(f"unsupported setting type {kind} for {env_name}")
