"""Files of the descriptor pool as protoc writes them, for clients that read descriptors.

CopyToProto leaves out every field's json_name, which protoc fills in; clients that
speak JSON (grpcurl, ghz) take the field names from it, so descriptors served by
reflection or written to a descriptor set carry it like protoc's own.
"""

from __future__ import annotations

from google.protobuf import descriptor, descriptor_pb2


def file_proto(file: descriptor.FileDescriptor) -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    for message_proto in proto.message_type:
        _name_fields(message_proto, file.message_types_by_name[message_proto.name])
    for extension_proto in proto.extension:
        extension_proto.json_name = file.extensions_by_name[extension_proto.name].json_name
    return proto


def _name_fields(proto: descriptor_pb2.DescriptorProto, message: descriptor.Descriptor) -> None:
    for field_proto in proto.field:
        field_proto.json_name = message.fields_by_name[field_proto.name].json_name
    for extension_proto in proto.extension:
        extension_proto.json_name = message.extensions_by_name[extension_proto.name].json_name
    for nested_proto in proto.nested_type:
        _name_fields(nested_proto, message.nested_types_by_name[nested_proto.name])
