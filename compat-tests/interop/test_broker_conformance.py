"""Kafka conformance with confluent-kafka (librdkafka 2.16): the differences from Kafka that
librdkafka's and rust-rdkafka's own test suites found (issue #13), each as a regression test
against a real `charter serve`."""

import os
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec


@pytest.fixture(scope="session")
def bootstrap():
    b = os.environ.get("CHARTER_KAFKA_BOOTSTRAP")
    assert b, "run through compat-tests/interop/run.sh"
    return b


@pytest.fixture
def admin(bootstrap):
    # One client per test, alive for as long as its futures are waited on.
    return AdminClient({"bootstrap.servers": bootstrap})


def create_topic(admin, partitions=1, config=None):
    topic = f"conf-{uuid.uuid4().hex[:12]}"
    admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})]
    )[topic].result(10)
    return topic


def test_fetch_max_bytes_caps_the_response(bootstrap, admin):
    """Bug 1 (librdkafka test 0082): two 900 KB records in each of 3 partitions, consumed with
    fetch.max.bytes=1000000 and receive.message.max.bytes=1000512. A response larger than the
    latter is dropped by librdkafka, which then refetches forever; with MaxBytes honoured
    across partitions (KIP-74) every record arrives."""
    topic = create_topic(admin, partitions=3)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "all"})
    payload = b"x" * 900_000
    for part in range(3):
        for i in range(2):
            p.produce(topic, payload, key=f"{part}-{i}".encode(), partition=part)
            p.flush(30)
    assert p.flush(30) == 0
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"g-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "fetch.max.bytes": 1_000_000,
        "max.partition.fetch.bytes": 20_000_000,
        "receive.message.max.bytes": 1_000_512,
    })
    try:
        c.assign([TopicPartition(topic, part, 0) for part in range(3)])
        got = set()
        deadline = time.monotonic() + 30
        while len(got) < 6 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            assert m.error() is None, m.error()
            assert len(m.value()) == 900_000
            got.add(m.key())
        assert len(got) == 6, f"consumed only {sorted(got)}"
    finally:
        c.close()


def test_offsets_by_time_are_per_record(bootstrap, admin):
    """Bug 2 (librdkafka tests 0054, 0081): one compressed batch of records at 1000, 2000 and
    3000 ms. offsets_for_times answers the first record at or after the target; the
    MAX_TIMESTAMP spec (KIP-734) answers the record with the largest timestamp."""
    topic = create_topic(admin)
    p = Producer({
        "bootstrap.servers": bootstrap,
        "linger.ms": 1000,
        "compression.type": "lz4",
        "acks": "all",
    })
    for ts in (1000, 2000, 3000):
        p.produce(topic, f"v{ts}".encode(), partition=0, timestamp=ts)
    assert p.flush(30) == 0

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:8]}"})
    try:
        for target, offset in ((500, 0), (1500, 1), (2500, 2), (3000, 2), (3001, -1)):
            [tp] = c.offsets_for_times([TopicPartition(topic, 0, target)], timeout=10)
            assert tp.error is None
            assert tp.offset == offset, (target, tp)
        # A seek by time delivers the record itself, not its batch's earlier ones.
        [tp] = c.offsets_for_times([TopicPartition(topic, 0, 1500)], timeout=10)
        c.assign([tp])
        m = c.poll(10)
        assert m is not None and m.error() is None
        assert (m.offset(), m.value(), m.timestamp()[1]) == (1, b"v2000", 2000)
    finally:
        c.close()

    tp = TopicPartition(topic, 0)
    res = admin.list_offsets({tp: OffsetSpec.max_timestamp()})[tp].result(10)
    assert (res.offset, res.timestamp) == (2, 3000)
    res = admin.list_offsets({tp: OffsetSpec.for_timestamp(1500)})[tp].result(10)
    assert (res.offset, res.timestamp) == (1, 2000)


def test_empty_group_keeps_protocol_type(bootstrap, admin):
    """Bug 6: after its last member leaves, a consumer group is still a `consumer` group (not a
    "simple" one) in ListGroups and DescribeGroups; only its assignor is cleared."""
    topic = create_topic(admin)
    group = f"g-{uuid.uuid4().hex[:8]}"
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
    })
    assigned = []
    c.subscribe([topic], on_assign=lambda _c, parts: assigned.extend(parts))
    deadline = time.monotonic() + 30
    while not assigned and time.monotonic() < deadline:
        c.poll(0.2)
    assert assigned, "no assignment"
    c.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
    c.close()  # LeaveGroup: the group is now empty

    desc = admin.describe_consumer_groups([group])[group].result(10)
    assert desc.state.name == "EMPTY"
    assert desc.is_simple_consumer_group is False
    assert desc.partition_assignor == ""
    listed = admin.list_consumer_groups().result(10)
    [mine] = [g for g in listed.valid if g.group_id == group]
    assert mine.is_simple_consumer_group is False


def test_init_transactions_fails_fast(bootstrap):
    """Bug 8: transactions are not implemented, so init_transactions() must fail at once with a
    fatal error naming the reason, not succeed and leave transactional produce hanging. The
    generous timeout is never reached: a fatal error is raised, not _TIMED_OUT."""
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"txn-{uuid.uuid4().hex}"})
    with pytest.raises(KafkaException) as e:
        p.init_transactions(120)
    err = e.value.args[0]
    assert err.fatal(), err
    assert err.code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, err
    assert "Transactions are not supported" in err.str(), err
    # Idempotent producers are unaffected.
    q = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    topic = f"conf-{uuid.uuid4().hex[:12]}"
    q.produce(topic, b"v")
    assert q.flush(30) == 0


def test_create_topics_with_replica_assignment(admin):
    """Bug 4: a manual replica assignment creates one partition per entry (librdkafka sends
    NumPartitions = ReplicationFactor = -1 on the wire, whatever count the application gave);
    one naming a broker that does not exist is
    refused with INVALID_REPLICA_ASSIGNMENT."""
    [node] = admin.list_topics(timeout=10).brokers.keys()
    topic = f"conf-{uuid.uuid4().hex[:12]}"
    admin.create_topics(
        [NewTopic(topic, num_partitions=3, replica_assignment=[[node], [node], [node]])]
    )[topic].result(10)
    assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 3

    bad = f"conf-{uuid.uuid4().hex[:12]}"
    fs = admin.create_topics([NewTopic(bad, num_partitions=2, replica_assignment=[[node], [node + 1]])])
    with pytest.raises(KafkaException) as e:
        fs[bad].result(10)
    assert e.value.args[0].code() == KafkaError.INVALID_REPLICA_ASSIGNMENT
    assert bad not in admin.list_topics(timeout=10).topics


def test_describe_broker_configs(admin, bootstrap):
    """Bug 7: DescribeConfigs for the BROKER resource lists the broker's configs with their
    sources (start-up values as STATIC_BROKER_CONFIG, the rest as DEFAULT_CONFIG)."""
    from confluent_kafka.admin import ConfigResource, ConfigSource

    [node] = admin.list_topics(timeout=10).brokers.keys()
    res = ConfigResource(ConfigResource.Type.BROKER, str(node))
    configs = admin.describe_configs([res])[res].result(10)
    assert configs["broker.id"].value == str(node)
    assert configs["node.id"].value == str(node)
    host, port = bootstrap.rsplit(":", 1)
    listeners = configs["advertised.listeners"]
    assert listeners.value == f"PLAINTEXT://{host}:{port}"
    # run.sh passes --kafka-listen with a free port: not the default 9092.
    assert listeners.source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert configs["log.dirs"].value.endswith("kafka")
    for name, value in [
        ("num.partitions", "1"),
        ("auto.create.topics.enable", "true"),
        ("group.min.session.timeout.ms", "6000"),
        ("group.max.session.timeout.ms", "1800000"),
        ("message.max.bytes", "1048588"),
        ("log.retention.ms", "604800000"),
    ]:
        assert configs[name].value == value, name
        assert configs[name].source == ConfigSource.DEFAULT_CONFIG.value, name
        assert configs[name].is_read_only, name



def test_authorized_operations_without_an_authorizer(admin, bootstrap):
    """Bug 10 (KIP-430): asked for authorized operations, a broker without an authorizer
    answers every operation Kafka supports for the resource type."""
    from confluent_kafka import TopicCollection
    from confluent_kafka.admin import AclOperation

    topic = create_topic(admin)
    desc = admin.describe_topics(
        TopicCollection([topic]), include_authorized_operations=True)[topic].result(10)
    assert set(desc.authorized_operations) == {
        AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE,
        AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS,
        AclOperation.ALTER_CONFIGS,
    }
    cluster = admin.describe_cluster(include_authorized_operations=True).result(10)
    assert set(cluster.authorized_operations) == {
        AclOperation.CREATE, AclOperation.ALTER, AclOperation.DESCRIBE,
        AclOperation.CLUSTER_ACTION, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS,
        AclOperation.IDEMPOTENT_WRITE,
    }
    group = f"g-{uuid.uuid4().hex[:8]}"
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    c.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
    c.close()
    g = admin.describe_consumer_groups(
        [group], include_authorized_operations=True)[group].result(10)
    assert set(g.authorized_operations) == {
        AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE,
        AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS,
    }
