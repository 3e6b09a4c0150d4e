"""confluent-kafka-python's ProtobufSerializer / ProtobufDeserializer (2.16.0) against charter.

The message classes are built at run time from a FileDescriptorProto (what protoc would
generate), so no protoc is needed. `payments.proto` imports the well-known
`google/protobuf/timestamp.proto` (the serializer skips registering well-known types, so the
registry must resolve that import itself) and nests a message so that the message-index path is not [0]. The Python serdes always ask the
registry for `format=serialized` (base64 descriptors).
"""

import struct
import uuid

from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf import timestamp_pb2  # noqa: F401  (registers the import in the pool)


def build_classes():
    """Payment (top-level, index [0]) and Payment.Refund (nested, index [0, 0]) plus Receipt
    (second top-level message, index [1]), in a file with a unique name and package."""
    suffix = uuid.uuid4().hex[:10]
    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.name = f"payments_{suffix}.proto"
    fdp.package = f"interop.p{suffix}"
    fdp.syntax = "proto3"
    fdp.dependency.append("google/protobuf/timestamp.proto")
    T = descriptor_pb2.FieldDescriptorProto

    payment = fdp.message_type.add(name="Payment")
    payment.field.add(name="id", number=1, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    payment.field.add(name="amount_cents", number=2, type=T.TYPE_INT64, label=T.LABEL_OPTIONAL)
    payment.field.add(name="paid_at", number=3, type=T.TYPE_MESSAGE, label=T.LABEL_OPTIONAL,
                      type_name=".google.protobuf.Timestamp")
    refund = payment.nested_type.add(name="Refund")
    refund.field.add(name="reason", number=1, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    refund.field.add(name="amount_cents", number=2, type=T.TYPE_INT64, label=T.LABEL_OPTIONAL)

    receipt = fdp.message_type.add(name="Receipt")
    receipt.field.add(name="payment_id", number=1, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    receipt.field.add(name="lines", number=2, type=T.TYPE_STRING, label=T.LABEL_REPEATED)

    pool = descriptor_pool.Default()
    fd = pool.Add(fdp)
    pkg = fdp.package
    get = lambda n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{pkg}.{n}"))
    return get("Payment"), get("Payment.Refund"), get("Receipt")


def roundtrip(sr_client, new_client, cls, make, expected_indexes):
    topic = f"payments_{uuid.uuid4().hex[:12]}"
    ctx = SerializationContext(topic, MessageField.VALUE)
    ser = ProtobufSerializer(cls, sr_client, {"use.deprecated.format": False})
    msgs = [make(i) for i in range(3)]
    frames = [ser(m, ctx) for m in msgs]

    latest = sr_client.get_latest_version(f"{topic}-value")
    assert latest.schema.schema_type == "PROTOBUF"
    for frame in frames:
        magic, schema_id = struct.unpack(">bI", frame[:5])
        assert (magic, schema_id) == (0, latest.schema_id)
        assert frame[5:5 + len(expected_indexes)] == expected_indexes

    # A fresh client (empty caches) resolves the schema and its references through charter.
    de = ProtobufDeserializer(cls, {"use.deprecated.format": False}, new_client())
    assert [de(f, ctx) for f in frames] == msgs
    return latest


def test_protobuf_serializer_with_well_known_import(sr_client, new_client):
    Payment, _, _ = build_classes()

    def make(i):
        p = Payment(id=f"p-{i}", amount_cents=100 * i)
        p.paid_at.seconds = 1_700_000_000 + i
        return p

    latest = roundtrip(sr_client, new_client, Payment, make, b"\x00")
    # Well-known types need no reference subject: charter resolves the import itself.
    assert 'import "google/protobuf/timestamp.proto"' in latest.schema.schema_str


def test_protobuf_nested_and_second_message_indexes(sr_client, new_client):
    _, Refund, Receipt = build_classes()
    # Payment.Refund: path [0, 0] -> count 2, 0, 0 as zigzag varints.
    roundtrip(sr_client, new_client, Refund,
              lambda i: Refund(reason=f"r{i}", amount_cents=i), b"\x04\x00\x00")
    # Receipt: path [1] -> count 1, index 1.
    roundtrip(sr_client, new_client, Receipt,
              lambda i: Receipt(payment_id=f"p{i}", lines=["a", "b"][: i + 1]), b"\x02\x02")
