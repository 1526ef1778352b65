"""Server reflection, v1 and v1alpha, that also resolves method names.

grpcio's stock servicer speaks only v1alpha, answers `file_containing_symbol` for
services and messages only (ghz and some grpcurl versions ask for
"pkg.Service.Method"), and serves descriptors without json_name (see descriptors.py).
grpc.reflection.v1 is v1alpha under another package name, message for message, so
the same servicer answers both; its descriptor is v1alpha's, renamed.
"""

from __future__ import annotations

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from airspace.mesh.descriptors import file_proto

ALPHA_PACKAGE = "grpc.reflection.v1alpha"
V1_PACKAGE = "grpc.reflection.v1"
V1_SERVICE_NAME = f"{V1_PACKAGE}.ServerReflection"


def _add_v1_descriptor() -> None:
    """grpc/reflection/v1/reflection.proto in the default pool, from v1alpha's."""
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name, proto.package = "grpc/reflection/v1/reflection.proto", V1_PACKAGE
    proto.ClearField("options")
    renamed = (f".{ALPHA_PACKAGE}.", f".{V1_PACKAGE}.")
    for message in proto.message_type:
        for field in message.field:
            if field.HasField("type_name"):
                field.type_name = field.type_name.replace(*renamed)
    for method in proto.service[0].method:
        method.input_type = method.input_type.replace(*renamed)
        method.output_type = method.output_type.replace(*renamed)
    descriptor_pool.Default().AddSerializedFile(proto.SerializeToString())


_add_v1_descriptor()


class MethodAwareReflectionServicer(reflection.aio.ReflectionServicer):
    def _file_by_filename(self, request, filename):
        return self._with_json_names(super()._file_by_filename(request, filename))

    def _file_containing_extension(self, request, containing_type, extension_number):
        return self._with_json_names(
            super()._file_containing_extension(request, containing_type, extension_number)
        )

    def _file_containing_symbol(self, request, fully_qualified_name):
        response = super()._file_containing_symbol(request, fully_qualified_name)
        if response.HasField("error_response") and "." in fully_qualified_name:
            service_name, method_name = fully_qualified_name.rsplit(".", 1)
            try:
                service = self._pool.FindServiceByName(service_name)
            except KeyError:
                service = None
            if service is not None and method_name in service.methods_by_name:
                response = super()._file_containing_symbol(request, service_name)
        return self._with_json_names(response)

    def _with_json_names(self, response):
        if response.HasField("file_descriptor_response"):
            files = response.file_descriptor_response.file_descriptor_proto
            names = [descriptor_pb2.FileDescriptorProto.FromString(f).name for f in files]
            files[:] = [
                file_proto(self._pool.FindFileByName(name)).SerializeToString() for name in names
            ]
        return response


def enable(server, service_names: list[str]) -> None:
    """Serves reflection (both versions) listing `service_names` and itself."""
    names = [*service_names, reflection.SERVICE_NAME, V1_SERVICE_NAME]
    servicer = MethodAwareReflectionServicer(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    # The same messages on the wire, so v1alpha's classes decode and encode v1's.
    handlers = {
        "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
            response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
        )
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(V1_SERVICE_NAME, handlers),)
    )
