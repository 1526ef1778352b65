import grpc, pytest, sys
sys.path.insert(0, "/work/main/tests/e2e")
from mesh_support import Mesh, apply, register
from google.protobuf import struct_pb2
from airspace.v1 import run_pb2
from agents.kit import Agent, Reply

@pytest.fixture
async def mesh(tmp_path):
    m = Mesh(tmp_path); await m.start(); yield m; await m.stop()

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F; n >>= 7
        if n: out.append(b | 0x80)
        else: out.append(b); return bytes(out)

def ld(num, payload):
    return varint((num << 3) | 2) + varint(len(payload)) + payload

def nested_struct(depth):
    s = struct_pb2.Struct(); s.update({"leaf": "x"}); raw = s.SerializeToString()
    for _ in range(depth):
        value = ld(5, raw)  # Value.struct_value
        entry = ld(1, b"n") + ld(2, value)
        raw = ld(1, entry)  # Struct.fields
    return raw

async def test_probe(mesh):
    c = mesh.client()
    a = Agent(name="echo", version="1.0.0")
    @a.handler
    async def h(t): return Reply(text="ok")
    await register(c, await mesh.serve_agent(a))
    await apply(c, "name: e\npattern: sequential\nsteps: [{name: a, agent: echo}]")
    call = c.channel.unary_unary("/airspace.v1.RunService/StartRun")
    for depth in (20, 40, 200, 5000):
        raw = ld(1, b"e") + ld(3, nested_struct(depth))
        try:
            r = await call(raw, metadata=c.metadata)
            print(depth, "ok", len(r))
        except grpc.aio.AioRpcError as e:
            print(depth, e.code(), e.details()[:300])
    big = run_pb2.StartRunRequest(workflow="e")
    big.input.update({"text": "x" * (5 * 1024 * 1024)})
    try:
        await c.runs.StartRun(big, metadata=c.metadata)
    except grpc.aio.AioRpcError as e:
        print("big", e.code(), e.details()[:200])
    import asyncio; await asyncio.sleep(1)
