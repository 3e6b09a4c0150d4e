"""Cross-language round trips between charter-serde (Rust) and confluent-kafka-python 2.16.0's
serdes through a running charter registry, for Avro, Protobuf (a nested message, so the index
path is [1, 0]) and JSON Schema, in both directions, with prefix framing and with the
`__value_schema_id` GUID header; plus the golden wire-format vectors against Python's encoder.

The Rust side is `compat-tests/examples/serde_roundtrip.rs` (run.sh builds it and exports
CHARTER_SERDE_BIN); `--typed` uses the typed API (serde/prost types), otherwise the dynamic
JSON API.
"""

import io
import json
import os
import subprocess
import uuid

import pytest
from confluent_kafka.schema_registry import (
    Schema,
    header_schema_id_serializer,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.common.serde import SchemaId
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))

USER_AVSC = json.dumps({
    "type": "record", "name": "User", "namespace": "interop", "fields": [
        {"name": "name", "type": "string"},
        {"name": "age", "type": "int"},
        {"name": "email", "type": ["null", "string"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
    ]})

USERS = [
    {"name": "ada", "age": 36, "email": "ada@example.com", "tags": ["x", "y"]},
    {"name": "bob", "age": -7, "email": None, "tags": []},
]

READING_SCHEMA = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#", "title": "interop.Reading",
    "type": "object",
    "properties": {"sensor": {"type": "string"}, "value": {"type": "number"},
                   "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["sensor", "value"], "additionalProperties": False})

READINGS = [{"sensor": "s1", "value": 1.5, "tags": ["a"]}, {"sensor": "s2", "value": -3.25, "tags": []}]

ITEMS = [
    {"sku": "A-1", "qty": 3, "big": 9007199254740993, "tags": ["t1", "t2"]},
    {"sku": "B-2", "qty": -1, "big": -5, "tags": []},
]


def rust(registry_url, *args):
    binary = os.environ.get("CHARTER_SERDE_BIN")
    if not binary:
        pytest.fail("CHARTER_SERDE_BIN is not set: run the suite through compat-tests/interop/run.sh",
                    pytrace=False)
    p = subprocess.run([binary, registry_url, *args], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"serde_roundtrip {args}: {p.stderr}"
    return json.loads(p.stdout)


def ctx(topic, headers=None):
    return SerializationContext(topic, MessageField.VALUE, headers)


def header_args(headers):
    return [f"{k}={bytes(v).hex()}" for k, v in headers]


def avro_json(u):
    """A User in Avro's JSON encoding (the dynamic API's output): unions wrapped."""
    return {**u, "email": None if u["email"] is None else {"string": u["email"]}}


# ----------------------------------------------------------------------------------- Avro

@pytest.mark.parametrize("typed", [True, False], ids=["typed", "dynamic"])
@pytest.mark.parametrize("header", [False, True], ids=["prefix", "header"])
def test_avro_python_to_rust(registry_url, sr_client, fresh_subject, typed, header):
    topic = fresh_subject("avro")
    conf = {"schema.id.serializer": header_schema_id_serializer} if header else {}
    ser = AvroSerializer(sr_client, USER_AVSC, conf=conf)
    for u in USERS:
        headers = []
        payload = ser(u, ctx(topic, headers))
        if header:
            assert [k for k, _ in headers] == ["__value_schema_id"] and headers[0][1][0] == 1
        else:
            assert payload[0] == 0
        flags = ["--typed"] if typed else []
        out = rust(registry_url, "decode", "avro", topic, payload.hex(), *header_args(headers), *flags)
        assert out["value"] == (u if typed else avro_json(u))


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "dynamic"])
@pytest.mark.parametrize("header", [False, True], ids=["prefix", "header"])
def test_avro_rust_to_python(registry_url, sr_client, new_client, fresh_subject, typed, header):
    topic = fresh_subject("avro")
    if not typed:
        # The dynamic API writes with a registered schema.
        sr_client.register_schema(f"{topic}-value", Schema(USER_AVSC, "AVRO"))
    de = AvroDeserializer(new_client())
    for u in USERS:
        flags = (["--typed"] if typed else []) + (["--header"] if header else [])
        out = rust(registry_url, "encode", "avro", topic, json.dumps(u), *flags)
        payload = bytes.fromhex(out["payload"])
        headers = [(k, bytes.fromhex(v)) for k, v in out["headers"]]
        assert bool(headers) == header
        assert de(payload, ctx(topic, headers)) == u


# ------------------------------------------------------------------------------- Protobuf

def item_class():
    """interop.p<suffix>.Outer.Item, the nested message at index path [1, 0]."""
    suffix = uuid.uuid4().hex[:10]
    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.name = f"items_{suffix}.proto"
    fdp.package = f"interop.p{suffix}"
    fdp.syntax = "proto3"
    T = descriptor_pb2.FieldDescriptorProto
    env = fdp.message_type.add(name="Envelope")
    env.field.add(name="trace", number=1, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    outer = fdp.message_type.add(name="Outer")
    item = outer.nested_type.add(name="Item")
    item.field.add(name="sku", number=1, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    item.field.add(name="qty", number=2, type=T.TYPE_INT32, label=T.LABEL_OPTIONAL)
    item.field.add(name="big", number=3, type=T.TYPE_INT64, label=T.LABEL_OPTIONAL)
    item.field.add(name="tags", number=4, type=T.TYPE_STRING, label=T.LABEL_REPEATED)
    pool = descriptor_pool.Default()
    pool.Add(fdp)
    full = f"{fdp.package}.Outer.Item"
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(full)), full


def item_fields(m):
    return {"sku": m.sku, "qty": m.qty, "big": m.big, "tags": list(m.tags)}


def proto3_json(i):
    """An Item in the proto3 JSON mapping (the dynamic API's output): int64 as a string,
    default values omitted."""
    out = {"sku": i["sku"], "qty": i["qty"], "big": str(i["big"])}
    if i["tags"]:
        out["tags"] = i["tags"]
    return out


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "dynamic"])
@pytest.mark.parametrize("header", [False, True], ids=["prefix", "header"])
def test_protobuf_python_to_rust(registry_url, sr_client, fresh_subject, typed, header):
    Item, full = item_class()
    topic = fresh_subject("pb")
    conf = {"use.deprecated.format": False}
    if header:
        conf["schema.id.serializer"] = header_schema_id_serializer
    ser = ProtobufSerializer(Item, sr_client, conf)
    for i in ITEMS:
        headers = []
        payload = ser(Item(**i), ctx(topic, headers))
        if header:
            assert headers[0][1][17:] == b"\x04\x02\x00", "GUID then indexes [1, 0]"
        else:
            assert payload[5:8] == b"\x04\x02\x00", "indexes [1, 0]"
        flags = ["--typed"] if typed else []
        out = rust(registry_url, "decode", "protobuf", topic, payload.hex(), *header_args(headers), *flags)
        if typed:
            assert out["value"] == i
        else:
            assert out["value"] == proto3_json(i)
            assert out["protobuf_message"] == full


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "dynamic"])
@pytest.mark.parametrize("header", [False, True], ids=["prefix", "header"])
def test_protobuf_rust_to_python(registry_url, sr_client, new_client, fresh_subject, typed, header):
    Item, full = item_class()
    topic = fresh_subject("pb")
    flags = ["--header"] if header else []
    if typed:
        flags.append("--typed")
    else:
        # Register Python's file; the dynamic API writes the named message of it.
        ProtobufSerializer(Item, sr_client, {"use.deprecated.format": False})(Item(), ctx(topic))
        flags.append(f"--message={full}")
    de = ProtobufDeserializer(Item, {"use.deprecated.format": False}, new_client())
    for i in ITEMS:
        value = i if typed else proto3_json(i)
        out = rust(registry_url, "encode", "protobuf", topic, json.dumps(value), *flags)
        payload = bytes.fromhex(out["payload"])
        headers = [(k, bytes.fromhex(v)) for k, v in out["headers"]]
        if header:
            assert headers[0][0] == "__value_schema_id" and headers[0][1][17:] == b"\x04\x02\x00"
        else:
            assert payload[5:8] == b"\x04\x02\x00"
        assert item_fields(de(payload, ctx(topic, headers))) == i


# ----------------------------------------------------------------------------- JSON Schema

@pytest.mark.parametrize("typed", [True, False], ids=["typed", "dynamic"])
@pytest.mark.parametrize("header", [False, True], ids=["prefix", "header"])
def test_json_python_to_rust(registry_url, sr_client, fresh_subject, typed, header):
    topic = fresh_subject("json")
    conf = {"schema.id.serializer": header_schema_id_serializer} if header else {}
    ser = JSONSerializer(READING_SCHEMA, sr_client, conf=conf)
    for r in READINGS:
        headers = []
        payload = ser(r, ctx(topic, headers))
        flags = ["--typed"] if typed else []
        out = rust(registry_url, "decode", "json", topic, payload.hex(), *header_args(headers), *flags)
        assert out["value"] == r


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "dynamic"])
@pytest.mark.parametrize("header", [False, True], ids=["prefix", "header"])
def test_json_rust_to_python(registry_url, sr_client, new_client, fresh_subject, typed, header):
    topic = fresh_subject("json")
    if not typed:
        sr_client.register_schema(f"{topic}-value", Schema(READING_SCHEMA, "JSON"))
    de = JSONDeserializer(READING_SCHEMA, schema_registry_client=new_client())
    for r in READINGS:
        flags = (["--typed"] if typed else []) + (["--header"] if header else [])
        out = rust(registry_url, "encode", "json", topic, json.dumps(r), *flags)
        payload = bytes.fromhex(out["payload"])
        headers = [(k, bytes.fromhex(v)) for k, v in out["headers"]]
        assert de(payload, ctx(topic, headers)) == r


def test_rust_rejects_what_the_schema_does_not_allow(registry_url, sr_client, fresh_subject):
    topic = fresh_subject("json")
    sr_client.register_schema(f"{topic}-value", Schema(READING_SCHEMA, "JSON"))
    binary = os.environ["CHARTER_SERDE_BIN"]
    p = subprocess.run([binary, registry_url, "encode", "json", topic, '{"sensor": 1}'],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "does not match the schema" in p.stderr, p.stderr
    p = subprocess.run([binary, registry_url, "decode", "avro", topic, "07000000"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "unknown magic byte 7" in p.stderr, p.stderr


# ------------------------------------------------------------------------- golden vectors

def golden():
    with open(os.path.join(HERE, "..", "vectors", "wire_golden.json")) as f:
        return json.load(f)


def test_golden_vectors_match_pythons_encoder():
    g = golden()
    for v in g["prefix"]:
        kind = "PROTOBUF" if v["indexes"] is not None else "AVRO"
        sid = SchemaId(kind, v["id"], None, v["indexes"])
        framed = bytes.fromhex(v["framed_hex"])
        assert sid.id_to_bytes() + bytes.fromhex(v["payload_hex"]) == framed, v["name"]
        back = SchemaId(kind)
        rest = back.from_bytes(io.BytesIO(framed)).read()
        assert (back.id, rest.hex()) == (v["id"], v["payload_hex"]), v["name"]
        if v["indexes"] is not None:
            assert back.message_indexes == v["indexes"], v["name"]
    for v in g["header"]:
        kind = "PROTOBUF" if v["indexes"] is not None else "AVRO"
        sid = SchemaId(kind, None, v["guid"], v["indexes"])
        assert sid.guid_to_bytes().hex() == v["header_hex"], v["name"]
        back = SchemaId(kind)
        back.from_bytes(io.BytesIO(bytes.fromhex(v["header_hex"])))
        assert str(back.guid) == v["guid"], v["name"]
    for v in g["message_indexes"]:
        # Python writes the index array after an id; strip the 5-byte prefix.
        sid = SchemaId("PROTOBUF", 1, None, v["indexes"])
        assert sid.id_to_bytes()[5:].hex() == v["hex"], v["indexes"]
    for v in g["message_indexes_decode_only"]:
        back = SchemaId("PROTOBUF")
        back.from_bytes(io.BytesIO(bytes.fromhex("0000000001" + v["hex"])))
        assert back.message_indexes == v["indexes"], v["name"]
