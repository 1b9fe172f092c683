"""Prints, as JSON, the message and enum layouts (names, field numbers, types)
of the official p4runtime Python package, so that a test can compare them
with Talaria's own .proto files: wire compatibility checked against something
Talaria did not write."""
import json
import os
import sys

# protobuf >= 4 refuses the package's old generated code in the C++/upb
# implementation; the pure-Python one loads it.
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

from p4.config.v1 import p4info_pb2, p4types_pb2  # noqa: E402
from p4.v1 import p4data_pb2, p4runtime_pb2  # noqa: E402

out = {"messages": {}, "enums": {}}


def type_name(field):
    if field.message_type is not None:
        return field.message_type.full_name
    if field.enum_type is not None:
        return field.enum_type.full_name
    return SCALARS[field.type]


# FieldDescriptor.TYPE_* numbers -> the scalar names .proto files use.
SCALARS = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64",
           7: "fixed32", 8: "bool", 9: "string", 12: "bytes", 13: "uint32",
           15: "sfixed32", 16: "sfixed64", 17: "sint32", 18: "sint64"}


def walk_enum(enum):
    out["enums"][enum.full_name] = {v.name: v.number for v in enum.values}


def walk(message):
    fields = {}
    for f in message.fields:
        fields[f.name] = {
            "number": f.number,
            "type": type_name(f),
            "repeated": f.is_repeated if hasattr(f, "is_repeated") else f.label == f.LABEL_REPEATED,
            "oneof": f.containing_oneof.name if f.containing_oneof is not None else None,
        }
    out["messages"][message.full_name] = fields
    for nested in message.nested_types:
        walk(nested)
    for enum in message.enum_types:
        walk_enum(enum)


for module in (p4runtime_pb2, p4info_pb2, p4types_pb2, p4data_pb2):
    for message in module.DESCRIPTOR.message_types_by_name.values():
        walk(message)
    for enum in module.DESCRIPTOR.enum_types_by_name.values():
        walk_enum(enum)

json.dump(out, sys.stdout)
