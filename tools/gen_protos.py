"""Regenerates the Python code for protos/ (and, with --protoset, a descriptor set).

grpc_tools bundles protoc and the well-known types; google/rpc protos come from
googleapis-common-protos, so both include paths are passed. The descriptor set also
holds grpc/health/v1/health.proto, which every server serves: grpcio-health-checking
ships it compiled only, so it is taken from there.
"""

import argparse
import pathlib
import sys

import grpc_tools
from google.protobuf import descriptor_pb2
from google.rpc import status_pb2
from grpc_health.v1 import health_pb2
from grpc_tools import protoc

from airspace.mesh.descriptors import file_proto

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
HEALTH_PROTO = "grpc/health/v1/health.proto"


def include_paths(protos: pathlib.Path) -> list[str]:
    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    googleapis = pathlib.Path(status_pb2.__file__).parent.parent.parent
    return [f"-I{protos}", f"-I{well_known}", f"-I{googleapis}"]


def sources(protos: pathlib.Path) -> list[str]:
    return sorted(str(p.relative_to(protos)) for p in protos.rglob("*.proto"))


def run(args: list[str], protos: pathlib.Path = PROTOS) -> None:
    code = protoc.main(["protoc", *include_paths(protos), *args, *sources(protos)])
    if code != 0:
        sys.exit(code)


def add_health(protoset: pathlib.Path) -> None:
    files = descriptor_pb2.FileDescriptorSet.FromString(protoset.read_bytes())
    health = file_proto(health_pb2.DESCRIPTOR)
    health.name = HEALTH_PROTO  # the package compiled it as grpc_health/v1/health.proto
    files.file.append(health)
    protoset.write_bytes(files.SerializeToString())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(PROTOS), help="where generated Python goes")
    parser.add_argument("--protoset", help="write a descriptor set with imports to this file")
    parser.add_argument(
        "--protos", default=str(PROTOS), help="the sources of the descriptor set (an older copy)"
    )
    args = parser.parse_args()
    if args.protoset:
        descriptor_set = [
            f"--descriptor_set_out={args.protoset}",
            "--include_imports",
            "--include_source_info",
        ]
        run(descriptor_set, pathlib.Path(args.protos))
        add_health(pathlib.Path(args.protoset))
        return
    out = pathlib.Path(args.out)
    run([f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}"])
    for package in {p.parent for p in out.rglob("*_pb2.py")}:
        # Only the versioned leaves are regular packages: `airspace`, `airspace.policy` and
        # `airspace.state` are namespaces shared with the hand-written code in other folders.
        (package / "__init__.py").touch()


if __name__ == "__main__":
    main()
