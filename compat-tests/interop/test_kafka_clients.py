"""Unmodified Kafka clients against charter's broker: confluent-kafka (librdkafka 2.16),
kafka-python (pure Python) and kcat (Debian's librdkafka 2.0.2).

Produce with every acks level and compression codec, consume everything back in order, and
read offsets by time; records written by one client are read by the others.
"""

import os
import shutil
import subprocess
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


@pytest.fixture(scope="session")
def bootstrap():
    b = os.environ.get("CHARTER_KAFKA_BOOTSTRAP")
    assert b, "CHARTER_KAFKA_BOOTSTRAP is not set: run through compat-tests/interop/run.sh"
    return b


def topic_name(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def produce(bootstrap, topic, values, **conf):
    delivered, errors = [], []

    def cb(err, msg):
        (errors if err else delivered).append(err or (msg.partition(), msg.offset(), msg.value()))

    p = Producer({"bootstrap.servers": bootstrap, **conf})
    for v in values:
        p.produce(topic, v, callback=cb)
    assert p.flush(30) == 0
    assert errors == []
    return delivered


def consume_all(bootstrap, topic, n, partition=0, offset=0):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, partition, offset)])
    out, deadline = [], time.time() + 30
    while len(out) < n and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        out.append((m.offset(), m.value()))
    c.close()
    return out


@pytest.mark.parametrize("acks", ["0", "1", "all"])
@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_confluent_kafka_produce_consume(bootstrap, acks, codec):
    topic = topic_name()
    values = [f"{codec}-{acks}-{i}".encode() * (1 + i % 7) for i in range(200)]
    produce(bootstrap, topic, values, acks=acks, **{"compression.type": codec, "linger.ms": 5})
    got = consume_all(bootstrap, topic, len(values))
    assert [v for _, v in got] == values
    assert [o for o, _ in got] == list(range(len(values)))


def test_admin_create_topic_and_metadata(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = topic_name("admin")
    fs = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    fs[topic].result(10)
    md = admin.list_topics(topic, timeout=10)
    assert sorted(md.topics[topic].partitions) == [0, 1, 2]
    # Creating it again fails with TOPIC_ALREADY_EXISTS.
    fs = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    with pytest.raises(KafkaException) as e:
        fs[topic].result(10)
    assert e.value.args[0].code() == 36
    # Records land in the partition they were sent to.
    p = Producer({"bootstrap.servers": bootstrap})
    for part in range(3):
        p.produce(topic, f"p{part}".encode(), partition=part)
    p.flush(10)
    for part in range(3):
        assert [v for _, v in consume_all(bootstrap, topic, 1, partition=part)] == [f"p{part}".encode()]
    fs = admin.delete_topics([topic])
    fs[topic].result(10)


def test_offsets_for_times_and_watermarks(bootstrap):
    topic = topic_name("ts")
    p = Producer({"bootstrap.servers": bootstrap})
    base = int(time.time() * 1000) - 100_000
    for i in range(10):
        p.produce(topic, f"v{i}".encode(), timestamp=base + i * 1000)
        p.flush(10)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused"})
    low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    assert (low, high) == (0, 10)
    found = c.offsets_for_times([TopicPartition(topic, 0, base + 4500)], timeout=10)
    assert found[0].offset == 5
    c.close()


def test_long_poll_fetch_delivers_new_records(bootstrap):
    topic = topic_name("poll")
    produce(bootstrap, topic, [b"first"])
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "fetch.wait.max.ms": 5000})
    c.assign([TopicPartition(topic, 0, 1)])
    # Nothing to read yet: the fetch long-polls; a record produced meanwhile arrives quickly.
    assert c.poll(1.0) is None
    produce(bootstrap, topic, [b"second"])
    start, m = time.time(), None
    while m is None and time.time() - start < 10:
        m = c.poll(0.5)
    assert m is not None and m.value() == b"second" and m.offset() == 1
    c.close()


def test_kafka_python_produce_consume(bootstrap):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.structs import TopicPartition as KTP

    topic = topic_name("kp")
    prod = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(50):
        prod.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode()).get(timeout=10)
    prod.close()
    cons = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=5000)
    cons.assign([KTP(topic, 0)])
    cons.seek_to_beginning()
    got = [(m.key, m.value) for m in cons]
    cons.close()
    assert got == [(f"k{i}".encode(), f"v{i}".encode()) for i in range(50)]
    # And librdkafka reads what kafka-python wrote.
    assert [v for _, v in consume_all(bootstrap, topic, 50)] == [f"v{i}".encode() for i in range(50)]


def test_kcat_list_produce_consume(bootstrap):
    assert shutil.which("kcat"), "kcat is required (.ci/run installs it: apt-get install kcat)"
    topic = topic_name("kcat")
    run = lambda *a, **kw: subprocess.run(["kcat", "-b", bootstrap, *a], capture_output=True,
                                          text=True, timeout=30, **kw)
    r = run("-P", "-t", topic, input="one\ntwo\nthree\n")
    assert r.returncode == 0, r.stderr
    r = run("-C", "-t", topic, "-e", "-f", "%o:%s\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["0:one", "1:two", "2:three"]
    r = run("-L", "-t", topic)
    assert f'topic "{topic}" with 1 partitions' in r.stdout
    # kcat's records are readable by librdkafka 2.16 too.
    assert [v for _, v in consume_all(bootstrap, topic, 3)] == [b"one", b"two", b"three"]


def test_kafkajs_produce_and_offsets(bootstrap):
    """kafkajs 2.2.4 (pure JavaScript, never uses flexible versions): admin createTopics,
    producer with acks=-1 uncompressed and gzip, fetchTopicOffsets; librdkafka reads it back.
    (kafkajs consumers always join a group; that is tested with consumer groups.)"""
    script = os.path.join(os.path.dirname(__file__), "kafkajs", "produce.js")
    topic = topic_name("kjs")
    r = subprocess.run(["node", script, bootstrap, topic, "40"], capture_output=True, text=True,
                       timeout=60, env=os.environ)
    assert r.returncode == 0, r.stderr
    import json
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["offsets"][0]["high"] == "40"
    assert [v for _, v in consume_all(bootstrap, topic, 40)] == [f"kafkajs-{i}".encode() for i in range(40)]
