"""Topic configs with confluent-kafka's AdminClient: DescribeConfigs lists every config with its
default (overrides as DYNAMIC_TOPIC_CONFIG), IncrementalAlterConfigs SET/DELETE round-trips,
bad values are rejected with INVALID_CONFIG (40), and turning on
`confluent.value.schema.validation` through IncrementalAlterConfigs takes effect on produce."""

import json
import os
import uuid

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewTopic,
)
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

DEFAULTS = {
    "cleanup.policy": "delete",
    "compression.type": "producer",
    "max.message.bytes": "1048588",
    "message.timestamp.type": "CreateTime",
    "retention.bytes": "-1",
    "retention.ms": "604800000",
    "segment.bytes": "1073741824",
    "segment.ms": "604800000",
    "index.interval.bytes": "4096",
    "min.insync.replicas": "1",
    "confluent.value.schema.validation": "false",
    "confluent.key.schema.validation": "false",
    "confluent.value.subject.name.strategy": "TopicNameStrategy",
    "confluent.key.subject.name.strategy": "TopicNameStrategy",
    "charter.value.schema.validation.level": "payload",
    "charter.key.schema.validation.level": "payload",
}


@pytest.fixture(scope="session")
def bootstrap():
    b = os.environ.get("CHARTER_KAFKA_BOOTSTRAP")
    assert b, "run through compat-tests/interop/run.sh"
    return b


@pytest.fixture
def admin(bootstrap):
    # One client per test, alive for as long as its futures are waited on.
    return AdminClient({"bootstrap.servers": bootstrap})


def new_topic(admin, config=None):
    topic = f"configs-{uuid.uuid4().hex[:12]}"
    fs = admin.create_topics(
        [NewTopic(topic, num_partitions=1, replication_factor=1, config=config or {})]
    )
    fs[topic].result(10)
    return topic


def describe(admin, topic):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return admin.describe_configs([res])[res].result(10)


def alter(admin, topic, *ops):
    entries = [
        ConfigEntry(name, value, incremental_operation=op) for name, value, op in ops
    ]
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=entries)
    return admin.incremental_alter_configs([res])[res].result(10)


def test_describe_shows_defaults_and_creation_overrides(admin):
    topic = new_topic(admin, {"retention.ms": "3600000"})
    configs = describe(admin, topic)
    for name, default in DEFAULTS.items():
        if name == "retention.ms":
            continue
        assert name in configs, name
        assert configs[name].value == default, name
        assert configs[name].source == ConfigSource.DEFAULT_CONFIG.value, name
        assert configs[name].is_default, name
        assert not configs[name].is_read_only, name
        assert not configs[name].is_sensitive, name
    assert configs["retention.ms"].value == "3600000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert not configs["retention.ms"].is_default


def test_describe_unknown_topic_fails(admin):
    with pytest.raises(KafkaException) as e:
        describe(admin, f"missing-{uuid.uuid4().hex[:12]}")
    assert e.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_incremental_set_then_delete(admin):
    topic = new_topic(admin)
    alter(
        admin,
        topic,
        ("retention.ms", "120000", AlterConfigOpType.SET),
        ("cleanup.policy", "delete", AlterConfigOpType.SET),
    )
    configs = describe(admin, topic)
    assert configs["retention.ms"].value == "120000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["cleanup.policy"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value

    alter(admin, topic, ("retention.ms", None, AlterConfigOpType.DELETE))
    configs = describe(admin, topic)
    assert configs["retention.ms"].value == DEFAULTS["retention.ms"]
    assert configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value
    # The other override is untouched.
    assert configs["cleanup.policy"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value


@pytest.mark.parametrize(
    "name,value",
    [
        ("retention.ms", "soon"),
        ("segment.bytes", "1"),
        ("confluent.value.schema.validation", "perhaps"),
        ("no.such.config", "1"),
    ],
)
def test_invalid_value_rejected_and_nothing_applied(admin, name, value):
    topic = new_topic(admin)
    with pytest.raises(KafkaException) as e:
        alter(
            admin,
            topic,
            ("retention.bytes", "1000000", AlterConfigOpType.SET),
            (name, value, AlterConfigOpType.SET),
        )
    assert e.value.args[0].code() == KafkaError.INVALID_CONFIG
    # Per resource, all or nothing.
    assert describe(admin, topic)["retention.bytes"].source == ConfigSource.DEFAULT_CONFIG.value


def test_enabling_validation_takes_effect(admin, bootstrap, registry_url):
    topic = new_topic(admin)

    def send(value):
        results = []
        p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "retries": 0})
        p.produce(topic, value, callback=lambda err, msg: results.append(err))
        p.flush(10)
        assert len(results) == 1
        return results[0]

    raw = b"not framed at all"
    assert send(raw) is None

    alter(admin, topic, ("confluent.value.schema.validation", "true", AlterConfigOpType.SET))
    configs = describe(admin, topic)
    assert configs["confluent.value.schema.validation"].value == "true"
    assert (
        configs["confluent.value.schema.validation"].source
        == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    )

    err = send(raw)
    assert err is not None and err.code() == KafkaError.INVALID_RECORD, err

    # Properly serialized records still go through.
    sr = SchemaRegistryClient({"url": registry_url})
    schema = {
        "type": "record",
        "name": "Reading",
        "fields": [{"name": "v", "type": "long"}],
    }
    good = AvroSerializer(sr, json.dumps(schema))(
        {"v": 7}, SerializationContext(topic, MessageField.VALUE)
    )
    assert send(good) is None

    # And turning it off again (DELETE back to the default) accepts raw bytes once more.
    alter(admin, topic, ("confluent.value.schema.validation", None, AlterConfigOpType.DELETE))
    assert send(raw) is None


def test_log_settings_apply_without_restart(admin, bootstrap):
    """message.timestamp.type altered on a live topic: the next record gets the broker's
    append time (LogAppendTime), the earlier one keeps the producer's (CreateTime)."""
    from confluent_kafka import Consumer, TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME

    topic = new_topic(admin)
    p = Producer({"bootstrap.servers": bootstrap})
    p.produce(topic, b"before", timestamp=1_000)
    assert p.flush(10) == 0
    alter(admin, topic, ("message.timestamp.type", "LogAppendTime", AlterConfigOpType.SET))
    p.produce(topic, b"after", timestamp=1_000)
    assert p.flush(10) == 0

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    got = []
    try:
        while len(got) < 2:
            m = c.poll(15)
            assert m is not None, f"only {len(got)} records consumed"
            assert m.error() is None, m.error()
            got.append((m.value(), m.timestamp()))
    finally:
        c.close()
    (v1, (t1, ts1)), (v2, (t2, ts2)) = got
    assert (v1, t1, ts1) == (b"before", TIMESTAMP_CREATE_TIME, 1_000)
    assert (v2, t2) == (b"after", TIMESTAMP_LOG_APPEND_TIME)
    assert ts2 > 1_600_000_000_000, "the broker's clock, not the producer's 1000"


# Standard Kafka topic configs Charter stores without acting on them (issue #13 bug 5): tools
# that sync topic configs set them, so every config API must accept and describe them.
STANDARD = {
    "flush.ms": "1000",
    "flush.messages": "100",
    "delete.retention.ms": "1000",
    "file.delete.delay.ms": "1000",
    "preallocate": "true",
    "segment.index.bytes": "1000",
    "segment.jitter.ms": "10",
    "unclean.leader.election.enable": "true",
    "min.compaction.lag.ms": "10",
    "max.compaction.lag.ms": "100000",
    "min.cleanable.dirty.ratio": "0.7",
    "message.timestamp.before.max.ms": "1000",
    "message.timestamp.after.max.ms": "1000",
}


@pytest.mark.filterwarnings("ignore:alter_configs has been deprecated:DeprecationWarning")
def test_every_config_api_shares_one_table(admin):
    """Bug 5: CreateTopics, IncrementalAlterConfigs and AlterConfigs accept the same configs
    and reject the same unknown names with INVALID_CONFIG."""
    # CreateTopics: unknown name rejected (it used to be accepted), standard ones stored.
    topic = f"configs-{uuid.uuid4().hex[:12]}"
    fs = admin.create_topics(
        [NewTopic(topic, num_partitions=1, replication_factor=1,
                  config={"dummy.doesntexist": "1"})]
    )
    with pytest.raises(KafkaException) as e:
        fs[topic].result(10)
    assert e.value.args[0].code() == KafkaError.INVALID_CONFIG

    created = new_topic(admin, dict(STANDARD))
    configs = describe(admin, created)
    for name, value in STANDARD.items():
        assert configs[name].value == value, name
        assert configs[name].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value, name

    # IncrementalAlterConfigs: the same 13, set on a fresh topic.
    altered = new_topic(admin)
    alter(admin, altered, *[(n, v, AlterConfigOpType.SET) for n, v in STANDARD.items()])
    configs = describe(admin, altered)
    for name, value in STANDARD.items():
        assert configs[name].value == value, name
    with pytest.raises(KafkaException) as e:
        alter(admin, altered, ("dummy.doesntexist", "1", AlterConfigOpType.SET))
    assert e.value.args[0].code() == KafkaError.INVALID_CONFIG

    # AlterConfigs (the legacy, non-incremental API): replaces the overrides.
    res = ConfigResource(ConfigResource.Type.TOPIC, altered, set_config={"flush.ms": "5"})
    admin.alter_configs([res])[res].result(10)
    configs = describe(admin, altered)
    assert configs["flush.ms"].value == "5"
    assert configs["flush.messages"].source == ConfigSource.DEFAULT_CONFIG.value
    bad = ConfigResource(ConfigResource.Type.TOPIC, altered,
                         set_config={"dummy.doesntexist": "1"})
    with pytest.raises(KafkaException) as e:
        admin.alter_configs([bad])[bad].result(10)
    assert e.value.args[0].code() == KafkaError.INVALID_CONFIG
