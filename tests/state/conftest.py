"""State service fixtures: a store of every implementation on a real database, and real
state servers on 127.0.0.1 port 0 called through mesh channels."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from postgres_schemas import postgres_schema  # noqa: F401 (a fixture)
from state_helpers import MESH_KEY, ROUTER, Clock

from airspace.mesh import channels, identity
from airspace.mesh.server import MeshServer
from airspace.state.main import build_server
from airspace.state.postgres.store import PostgresStateStore
from airspace.state.settings import StateSettings
from airspace.state.sqlite.store import SqliteStateStore
from airspace.state.store.state import StateStore
from airspace.state.v1 import state_pb2_grpc


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "state.db"


# Opens a store on the test's database; each call opens it again, as a restart would.
StoreOpener = Callable[[Clock], StateStore]


def sqlite_store(request: pytest.FixtureRequest) -> StoreOpener:
    db_path = request.getfixturevalue("db_path")
    return lambda clock: SqliteStateStore(db_path, clock=clock)


def postgres_store(request: pytest.FixtureRequest) -> StoreOpener:
    url = request.getfixturevalue("postgres_schema")
    return lambda clock: PostgresStateStore(url, pool_size=4, clock=clock)


# Every store test runs against each implementation listed here.
STORE_FACTORIES = [
    pytest.param(sqlite_store, id="sqlite"),
    pytest.param(postgres_store, id="postgres"),
]


@pytest.fixture(params=STORE_FACTORIES)
def open_store(request) -> StoreOpener:
    return request.param(request)


@pytest.fixture
async def store(open_store, clock):
    opened = open_store(clock)
    yield opened
    await opened.close()


@dataclasses.dataclass
class Started:
    server: MeshServer
    store: StateStore
    port: int


@pytest.fixture
async def start_server(open_store, db_path, clock):
    """Starts state servers on the test's database file."""
    running: list[Started] = []

    async def start() -> Started:
        config = StateSettings(
            data_dir=str(db_path.parent), mesh_key=MESH_KEY, watch_recheck_seconds=5.0
        )
        assert config.database == str(db_path)
        store = open_store(clock)
        srv = build_server(config, store)
        running.append(Started(srv, store, await srv.start()))
        return running[-1]

    yield start
    for started in running:
        await started.server.stop(0)


@pytest.fixture
async def connect():
    """StateService stubs calling a port as a given identity (a mesh router by default)."""
    opened = []

    def connect_(port: int, caller: identity.Identity = ROUTER):
        settings = StateSettings(mesh_key=MESH_KEY)
        opened.append(channels.open_channel(f"127.0.0.1:{port}", settings, as_identity=caller))
        return state_pb2_grpc.StateServiceStub(opened[-1])

    yield connect_
    for channel in opened:
        await channel.close()


@pytest.fixture
async def stub(start_server, connect):
    return connect((await start_server()).port)
