"""The ghz configs in compose/ghz/ and the descriptor set they load (`make protoset`):
ghz cannot be installed here, so each config is checked the way ghz reads it: JSON
with ghz's keys, a method the protoset has, and data that its request message takes
(field names as the protoset's json_name or as declared)."""

from __future__ import annotations

import json
import string
import subprocess
import sys

import pytest
from deploy_files import COMPOSE, ROOT
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

from airspace.v1 import run_pb2

pytestmark = pytest.mark.process

CONFIGS = sorted((COMPOSE / "ghz").glob("*.json"))
# The keys of ghz's config file (runner/config.go) these configs may use.
GHZ_KEYS = {
    "name", "call", "protoset", "proto", "host", "insecure", "metadata", "data",
    "total", "concurrency", "connections", "duration", "timeout", "reflect-metadata",
}  # fmt: skip
# What a user exports before `envsubst` (README.md).
ENVIRONMENT = {"AIRSPACE_API_KEY": "ask_example", "RUN_ID": "0123abcd"}


@pytest.fixture(scope="module")
def protoset(tmp_path_factory) -> descriptor_pb2.FileDescriptorSet:
    """The descriptor set `make protoset` writes."""
    path = tmp_path_factory.mktemp("protoset") / "airspace.protoset"
    subprocess.run(
        [sys.executable, "tools/gen_protos.py", "--protoset", str(path)], cwd=ROOT, check=True
    )
    return descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())


@pytest.fixture(scope="module")
def pool(protoset) -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    for file in protoset.file:
        pool.Add(file)
    return pool


def config(path) -> dict:
    return json.loads(string.Template(path.read_text()).substitute(ENVIRONMENT))


def test_there_is_a_config_for_each_method_a_load_test_needs():
    calls = {json.loads(path.read_text())["call"] for path in CONFIGS}
    assert calls == {
        f"airspace.v1.RunService/{method}"
        for method in ("RunWorkflow", "ExecuteRun", "GetRun", "ListRuns")
    }


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.name)
def test_each_config_names_a_method_of_the_protoset_with_data_its_request_takes(path, pool):
    loaded = config(path)
    assert set(loaded) <= GHZ_KEYS, set(loaded) - GHZ_KEYS
    assert loaded["protoset"] == "build/airspace.protoset" and loaded["insecure"] is True
    assert loaded["metadata"] == {"authorization": "Bearer ask_example"}
    service_name, method_name = loaded["call"].split("/")
    method = pool.FindServiceByName(service_name).methods_by_name[method_name]
    request = message_factory.GetMessageClass(method.input_type)()
    json_format.ParseDict(loaded["data"], request)  # raises on a field the message lacks
    assert request.ListFields(), "the data sets no field"


def test_the_protoset_holds_grpc_health_with_json_names(protoset, pool):
    [health] = [file for file in protoset.file if file.package == "grpc.health.v1"]
    assert health.name == "grpc/health/v1/health.proto"
    methods = pool.FindServiceByName("grpc.health.v1.Health").methods_by_name
    assert {"Check", "Watch"} <= set(methods)
    assert all(field.json_name for message in health.message_type for field in message.field)


def test_protoc_names_json_fields_as_the_code_does(protoset):
    """The json_name protoc wrote for each field is the one the generated code gives
    (and reflection serves, tests/e2e/test_reflection.py)."""
    [run_file] = [file for file in protoset.file if file.name == "airspace/v1/run.proto"]
    for message in run_file.message_type:
        code = run_pb2.DESCRIPTOR.message_types_by_name[message.name]
        assert {f.name: f.json_name for f in message.field} == {
            f.name: f.json_name for f in code.fields
        }
