"""confluent-kafka-python's AvroSerializer / AvroDeserializer (2.16.0) against charter.

The serializers talk to the registry exactly as a producer/consumer would (§7.2 "Serdes"):
auto-registration (`POST /subjects/{topic}-value/versions?normalize=False`), lookup, latest
version, schema by id, and reference resolution (`GET /subjects/{ref}/versions/{n}?deleted=true`).
"""

import json
import struct
import uuid

import pytest
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryError
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def uniq(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def order_schema(name):
    """A value schema touching every complex Avro type the serde maps to Python."""
    return {
        "type": "record",
        "name": name,
        "namespace": "com.example.interop",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "customer", "type": {
                "type": "record",
                "name": "Customer",
                "fields": [
                    {"name": "name", "type": "string"},
                    {"name": "email", "type": ["null", "string"], "default": None},
                ],
            }},
            {"name": "status", "type": {
                "type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "SHIPPED"],
            }},
            {"name": "items", "type": {"type": "array", "items": "string"}},
            {"name": "attributes", "type": {"type": "map", "values": "int"}},
            {"name": "payload", "type": "bytes"},
            {"name": "note", "type": ["null", "string"], "default": None},
            {"name": "amount", "type": "double"},
            {"name": "flag", "type": "boolean"},
        ],
    }


RECORDS = [
    {
        "id": 1,
        "customer": {"name": "Ada", "email": "ada@example.com"},
        "status": "NEW",
        "items": ["apple", "pear"],
        "attributes": {"size": 3, "weight": -7},
        "payload": b"\x00\x01\xfe\xff",
        "note": "first",
        "amount": 12.5,
        "flag": True,
    },
    {
        "id": 2**40,
        "customer": {"name": "Grace", "email": None},
        "status": "SHIPPED",
        "items": [],
        "attributes": {},
        "payload": b"",
        "note": None,
        "amount": -0.25,
        "flag": False,
    },
    {
        "id": -3,
        "customer": {"name": "Ünïcødé ✓", "email": None},
        "status": "PAID",
        "items": ["x" * 1000],
        "attributes": {"k": 2**31 - 1},
        "payload": bytes(range(256)),
        "note": "",
        "amount": 0.0,
        "flag": True,
    },
]


def framed_id(data):
    """The schema id of Confluent wire-format bytes: magic byte 0, then a big-endian int32."""
    assert isinstance(data, bytes) and len(data) >= 5
    assert data[0] == 0, f"magic byte is {data[0]}, expected 0"
    return struct.unpack(">i", data[1:5])[0]


@pytest.fixture
def topic(fresh_subject):
    return fresh_subject("topic")


def test_avro_value_round_trip(sr_client, new_client, topic):
    schema_str = json.dumps(order_schema(uniq("Order")))
    ser = AvroSerializer(sr_client, schema_str)  # auto.register.schemas defaults to True
    ctx = SerializationContext(topic, MessageField.VALUE)

    encoded = [ser(r, ctx) for r in RECORDS]
    ids = {framed_id(b) for b in encoded}
    assert len(ids) == 1
    (sid,) = ids

    # The id in the frame is the one the registry reports for <topic>-value.
    latest = new_client().get_latest_version(f"{topic}-value")
    assert (latest.schema_id, latest.version, latest.subject) == (sid, 1, f"{topic}-value")
    assert json.loads(latest.schema.schema_str) == json.loads(schema_str)
    assert new_client().get_subjects(subject_prefix=topic) == [f"{topic}-value"]

    # A fresh deserializer (its own client: it must fetch the schema by id from the registry).
    de = AvroDeserializer(new_client())
    assert [de(b, ctx) for b in encoded] == RECORDS


def test_avro_use_latest_version_and_lookup(sr_client, new_client, topic):
    schema_str = json.dumps(order_schema(uniq("Order")))
    ctx = SerializationContext(topic, MessageField.VALUE)
    sid = framed_id(AvroSerializer(sr_client, schema_str)(RECORDS[0], ctx))

    # use.latest.version: GET /subjects/{topic}-value/versions/latest, no registration.
    latest_ser = AvroSerializer(new_client(), schema_str,
                                conf={"auto.register.schemas": False, "use.latest.version": True})
    data = latest_ser(RECORDS[1], ctx)
    assert framed_id(data) == sid

    # auto.register.schemas=False alone: POST /subjects/{topic}-value (lookup).
    lookup_ser = AvroSerializer(new_client(), schema_str, conf={"auto.register.schemas": False})
    data2 = lookup_ser(RECORDS[2], ctx)
    assert framed_id(data2) == sid

    de = AvroDeserializer(new_client())
    assert de(data, ctx) == RECORDS[1]
    assert de(data2, ctx) == RECORDS[2]
    # Nothing new was registered.
    assert new_client().get_versions(f"{topic}-value") == [1]


def test_avro_lookup_of_unregistered_schema_fails(new_client, topic):
    ctx = SerializationContext(topic, MessageField.VALUE)
    ser = AvroSerializer(new_client(), json.dumps(order_schema(uniq("Order"))),
                         conf={"auto.register.schemas": False})
    with pytest.raises(SchemaRegistryError) as ei:
        ser(RECORDS[0], ctx)
    assert (ei.value.http_status_code, ei.value.error_code) == (404, 40401)


def test_avro_key_serializer(sr_client, new_client, topic):
    key_schema = json.dumps({
        "type": "record", "name": uniq("OrderKey"),
        "fields": [{"name": "tenant", "type": "string"}, {"name": "id", "type": "long"}],
    })
    kctx = SerializationContext(topic, MessageField.KEY)
    ser = AvroSerializer(sr_client, key_schema)
    key = {"tenant": "acme", "id": 42}
    data = ser(key, kctx)
    sid = framed_id(data)
    latest = new_client().get_latest_version(f"{topic}-key")
    assert (latest.schema_id, latest.subject) == (sid, f"{topic}-key")
    assert AvroDeserializer(new_client())(data, kctx) == key

    # A primitive key schema on the same topic's key subject: a new version (NONE needed:
    # a record and a string are not compatible).
    new_client().set_compatibility(f"{topic}-key", "NONE")
    sdata = AvroSerializer(new_client(), '"string"')("k-1", kctx)
    assert framed_id(sdata) != sid
    assert new_client().get_latest_version(f"{topic}-key").schema_id == framed_id(sdata)
    assert AvroDeserializer(new_client())(sdata, kctx) == "k-1"
    assert new_client().get_versions(f"{topic}-key") == [1, 2]


def test_avro_value_schema_evolution(sr_client, new_client, topic):
    """v1 data read through a v2 reader schema (BACKWARD-compatible addition with default)."""
    name = uniq("Evt")
    v1 = {"type": "record", "name": name, "fields": [{"name": "a", "type": "string"}]}
    v2 = {"type": "record", "name": name, "fields": [
        {"name": "a", "type": "string"},
        {"name": "b", "type": "int", "default": 7},
    ]}
    ctx = SerializationContext(topic, MessageField.VALUE)
    d1 = AvroSerializer(sr_client, json.dumps(v1))({"a": "x"}, ctx)
    d2 = AvroSerializer(new_client(), json.dumps(v2))({"a": "y", "b": 1}, ctx)
    assert framed_id(d1) != framed_id(d2)
    assert new_client().get_versions(f"{topic}-value") == [1, 2]

    # Writer schemas from the registry, each message decoded with its own writer schema.
    de = AvroDeserializer(new_client())
    assert de(d1, ctx) == {"a": "x"}
    assert de(d2, ctx) == {"a": "y", "b": 1}
    # With an explicit reader schema (v2), old data gets the default.
    de2 = AvroDeserializer(new_client(), json.dumps(v2))
    assert de2(d1, ctx) == {"a": "x", "b": 7}


def test_avro_serde_with_schema_reference(sr_client, new_client, fresh_subject, topic):
    """The value schema references a type registered in another subject; the serializer uses the
    latest registered version and the deserializer resolves the reference through the registry."""
    money_subject = fresh_subject("com.acme.Money")
    money_name = uniq("Money")
    money_full = f"com.acme.{money_name}"
    money = {"type": "record", "name": money_name, "namespace": "com.acme", "fields": [
        {"name": "units", "type": "long"},
        {"name": "currency", "type": "string"},
    ]}
    sr_client.register_schema(money_subject, Schema(json.dumps(money), "AVRO", []))

    subject = f"{topic}-value"
    invoice = {"type": "record", "name": uniq("Invoice"), "fields": [
        {"name": "number", "type": "string"},
        {"name": "total", "type": money_full},
    ]}
    refs = [SchemaReference(money_full, money_subject, 1)]
    sid = sr_client.register_schema(subject, Schema(json.dumps(invoice), "AVRO", refs))

    ctx = SerializationContext(topic, MessageField.VALUE)
    ser = AvroSerializer(new_client(), None, conf={"auto.register.schemas": False, "use.latest.version": True})
    value = {"number": "INV-1", "total": {"units": 1999, "currency": "EUR"}}
    data = ser(value, ctx)
    assert framed_id(data) == sid
    assert AvroDeserializer(new_client())(data, ctx) == value
