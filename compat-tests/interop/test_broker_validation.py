"""Schema validation on produce with real clients: confluent-kafka's AvroSerializer into a
validated topic, raw and foreign-schema records rejected with INVALID_RECORD (87) in the
producer's delivery callback, and a consumer with AvroDeserializer reading back exactly the
valid records. Both validation levels (payload, the default; and id) are exercised."""

import json
import os
import struct
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

USER = {
    "type": "record",
    "name": "User",
    "namespace": "com.example",
    "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": "int"}],
}


@pytest.fixture(scope="session")
def bootstrap():
    b = os.environ.get("CHARTER_KAFKA_BOOTSTRAP")
    assert b, "run through compat-tests/interop/run.sh"
    return b


def create_validated_topic(bootstrap, level=None):
    topic = f"validated-{uuid.uuid4().hex[:12]}"
    config = {"confluent.value.schema.validation": "true"}
    if level:
        config["charter.value.schema.validation.level"] = level
    admin = AdminClient({"bootstrap.servers": bootstrap})  # must outlive the future
    fs = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, config=config)])
    fs[topic].result(10)
    return topic


def send_each(bootstrap, topic, values):
    """Produces each value in its own batch; returns the delivery error (or None) per value."""
    results = []
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "retries": 0})
    for v in values:
        p.produce(topic, v, callback=lambda err, msg: results.append(err))
        p.flush(10)
    assert len(results) == len(values)
    return results


def read_all(bootstrap, topic, expect, timeout=20):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    out, deadline = [], time.time() + timeout
    while len(out) < expect and time.time() < deadline:
        m = c.poll(0.3)
        if m is not None and not m.error():
            out.append(m.value())
    # Nothing beyond what is expected shows up.
    extra = c.poll(1.0)
    c.close()
    assert extra is None or extra.error(), f"unexpected extra record {extra.value()!r}"
    return out


@pytest.mark.parametrize("level", [None, "id"])
def test_avro_serializer_into_validated_topic(bootstrap, registry_url, level):
    topic = create_validated_topic(bootstrap, level)
    sr = SchemaRegistryClient({"url": registry_url})
    ctx = SerializationContext(topic, MessageField.VALUE)
    ser = AvroSerializer(sr, json.dumps(USER))
    good = [ser({"name": f"n{i}", "age": i}, ctx) for i in range(3)]

    # A foreign schema: registered, but under another subject.
    other_id = sr.register_schema(f"other-{uuid.uuid4().hex[:8]}", Schema(json.dumps(
        {"type": "record", "name": "Other", "fields": [{"name": "x", "type": "long"}]}), "AVRO"))
    foreign = struct.pack(">bI", 0, other_id) + b"\x02"
    raw = b"not framed at all"
    unknown_id = struct.pack(">bI", 0, 987654) + good[0][5:]

    results = send_each(bootstrap, topic, [good[0], raw, good[1], foreign, unknown_id, good[2]])
    assert [r is None for r in results] == [True, False, True, False, False, True]
    for r in results:
        if r is not None:
            assert r.code() == KafkaError.INVALID_RECORD, r

    de = AvroDeserializer(sr)
    got = [de(v, ctx) for v in read_all(bootstrap, topic, 3)]
    assert got == [{"name": f"n{i}", "age": i} for i in range(3)]


def test_payload_level_rejects_bytes_that_do_not_decode(bootstrap, registry_url):
    topic = create_validated_topic(bootstrap)  # default level: payload
    sr = SchemaRegistryClient({"url": registry_url})
    ctx = SerializationContext(topic, MessageField.VALUE)
    good = AvroSerializer(sr, json.dumps(USER))({"name": "ok", "age": 1}, ctx)
    truncated = good[:-1]
    trailing = good + b"\x00"
    results = send_each(bootstrap, topic, [truncated, trailing, good])
    assert [r is None for r in results] == [False, False, True]
    assert read_all(bootstrap, topic, 1) == [good]


def test_tombstones_pass_validation(bootstrap):
    topic = create_validated_topic(bootstrap)
    results = []
    p = Producer({"bootstrap.servers": bootstrap})
    p.produce(topic, value=None, key=b"k", callback=lambda err, msg: results.append(err))
    p.flush(10)
    assert results == [None]
