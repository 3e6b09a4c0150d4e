"""Consumer groups with unmodified clients: confluent-kafka (librdkafka 2.16) consumers in
their own processes sharing and rebalancing partitions, one killed with `kill -9`; committed
offsets (with metadata) surviving `kill -9` of the broker; kafkajs and kafka-python groups;
static membership; the admin view of groups (list, describe, delete)."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest
from confluent_kafka import (Consumer, ConsumerGroupTopicPartitions, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

from helpers.charter import start

HERE = os.path.dirname(__file__)


@pytest.fixture(scope="session")
def bootstrap():
    b = os.environ.get("CHARTER_KAFKA_BOOTSTRAP")
    assert b, "run through compat-tests/interop/run.sh"
    return b


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_topic(bootstrap, partitions):
    topic = unique("grp")
    admin = AdminClient({"bootstrap.servers": bootstrap})  # must outlive the future
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[
        topic].result(10)
    return topic


def produce_values(bootstrap, topic, values, partitions):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    errors = []
    for i, v in enumerate(values):
        p.produce(topic, v.encode(), partition=i % partitions,
                  callback=lambda err, msg: err and errors.append(err))
    assert p.flush(30) == 0
    assert errors == []


class ConsumerProcess:
    """A group consumer in a child process (helpers/group_consumer.py), read line by line."""

    def __init__(self, bootstrap, group, topic, name, instance_id=None):
        args = [sys.executable, os.path.join(HERE, "helpers", "group_consumer.py"), bootstrap,
                group, topic]
        if instance_id:
            args.append(instance_id)
        self.name = name
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.lock = threading.Lock()
        self.assignment = None
        self.records = []  # (partition, offset, value)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            ev = json.loads(line)
            with self.lock:
                if ev["event"] == "assign":
                    self.assignment = ev["partitions"]
                elif ev["event"] == "revoke":
                    self.assignment = []
                elif ev["event"] == "record":
                    self.records.append((ev["partition"], ev["offset"], ev["value"]))

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=20)
            except (subprocess.TimeoutExpired, BrokenPipeError):
                self.proc.kill()
                self.proc.wait()


def describe(admin, group):
    return admin.describe_consumer_groups([group])[group].result(10)


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return time.time()
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def broker_assignment(admin, group):
    """{member_id: sorted partitions} as the coordinator reports it, when the group is stable."""
    d = describe(admin, group)
    if str(d.state).split(".")[-1].upper() != "STABLE":
        return None
    return {m.member_id: sorted(tp.partition for tp in m.assignment.topic_partitions)
            for m in d.members}


def is_split(assignment, members, partitions):
    if assignment is None or len(assignment) != members:
        return False
    owned = [p for ps in assignment.values() for p in ps]
    return sorted(owned) == list(range(partitions)) and all(assignment.values())


def test_group_shares_rebalances_and_survives_a_killed_member(bootstrap):
    topic, group = create_topic(bootstrap, 4), unique("g")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    a = ConsumerProcess(bootstrap, group, topic, "a")
    b = ConsumerProcess(bootstrap, group, topic, "b")
    consumers = [a, b]
    try:
        wait_for(lambda: is_split(broker_assignment(admin, group), 2, 4), 30, "2 members split 4")
        produce_values(bootstrap, topic, [f"one-{i}" for i in range(200)], 4)

        c = ConsumerProcess(bootstrap, group, topic, "c")
        consumers.append(c)
        wait_for(lambda: is_split(broker_assignment(admin, group), 3, 4), 30, "3 members split 4")
        produce_values(bootstrap, topic, [f"two-{i}" for i in range(200)], 4)
        wait_for(lambda: c.assignment, 10, "c's assignment")

        killed_at = time.time()
        c.kill9()
        # c's partitions move once its session (6 s) expires, plus a rebalance.
        moved_at = wait_for(lambda: is_split(broker_assignment(admin, group), 2, 4), 30,
                            "the survivors to take over")
        assert moved_at - killed_at < 6 + 10
        wait_for(lambda: sorted((a.assignment or []) + (b.assignment or [])) == [0, 1, 2, 3], 10,
                 "survivors' own view of the new assignment")

        # Everything produced is consumed by the group; what is produced after the last
        # rebalance is consumed exactly once (one owner per partition in a generation).
        produce_values(bootstrap, topic, [f"three-{i}" for i in range(200)], 4)

        def consumed():
            seen = []
            for x in consumers:
                with x.lock:
                    seen += [v for _, _, v in x.records]
            return seen

        expected = {f"{p}-{i}" for p in ("one", "two", "three") for i in range(200)}
        wait_for(lambda: expected <= set(consumed()), 60, "every record consumed")
        time.sleep(1)
        three = [v for v in consumed() if v.startswith("three-")]
        assert sorted(three) == sorted(f"three-{i}" for i in range(200)), "no duplicates"
        # Records consumed by a and b come only from partitions they owned at the end.
        for x in (a, b):
            with x.lock:
                mine = {p for p, _, v in x.records if v.startswith("three-")}
                assert mine <= set(x.assignment), (x.name, mine, x.assignment)
    finally:
        for x in consumers:
            x.stop()


def test_static_member_keeps_its_partitions_across_a_restart(bootstrap):
    topic, group = create_topic(bootstrap, 2), unique("static")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    a = ConsumerProcess(bootstrap, group, topic, "a", instance_id="instance-a")
    b = ConsumerProcess(bootstrap, group, topic, "b", instance_id="instance-b")
    try:
        wait_for(lambda: is_split(broker_assignment(admin, group), 2, 2), 30, "2 static members")
        wait_for(lambda: a.assignment and b.assignment, 10, "both assigned")
        before = list(a.assignment)
        a.kill9()
        # Back within the session timeout, with the same group.instance.id.
        a = ConsumerProcess(bootstrap, group, topic, "a2", instance_id="instance-a")
        wait_for(lambda: a.assignment, 20, "the restarted member's assignment")
        assert a.assignment == before
        d = describe(admin, group)
        assert sorted(m.group_instance_id for m in d.members) == ["instance-a", "instance-b"]
        # b was never disturbed: still the other partition.
        assert b.assignment == [p for p in (0, 1) if p not in before]
    finally:
        a.stop()
        b.stop()


def test_committed_offsets_and_metadata_survive_kill_9_of_the_broker():
    with tempfile.TemporaryDirectory() as data_dir:
        proc, bootstrap = start(data_dir)
        try:
            topic, group = create_topic(bootstrap, 1), unique("durable")
            produce_values(bootstrap, topic, [f"v{i}" for i in range(100)], 1)
            c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                          "enable.auto.commit": False, "auto.offset.reset": "earliest"})
            c.subscribe([topic])
            got = []
            while len(got) < 40:
                m = c.poll(1.0)
                if m is not None and not m.error():
                    got.append(m.value())
            tp = TopicPartition(topic, 0, 40, metadata="checkpoint-40")
            c.commit(offsets=[tp], asynchronous=False)
            c.close()
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

        proc, bootstrap = start(data_dir)
        try:
            c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                          "enable.auto.commit": False, "auto.offset.reset": "earliest"})
            [committed] = c.committed([TopicPartition(topic, 0)], timeout=10)
            assert committed.offset == 40
            assert committed.metadata == "checkpoint-40"
            c.subscribe([topic])
            first = None
            deadline = time.time() + 30
            while first is None and time.time() < deadline:
                m = c.poll(1.0)
                if m is not None and not m.error():
                    first = m
            assert first is not None and first.offset() == 40 and first.value() == b"v40"
            c.close()
        finally:
            proc.kill()
            proc.wait()


def committed_offsets(bootstrap, group, topic, partitions):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    out = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    c.close()
    return [tp.offset for tp in out]


def test_kafkajs_consumer_group(bootstrap):
    topic, group = create_topic(bootstrap, 2), unique("kjs")
    produce_values(bootstrap, topic, [f"kjs-{i}" for i in range(30)], 2)
    script = os.path.join(HERE, "kafkajs", "consume.js")
    r = subprocess.run(["node", script, bootstrap, group, topic, "30"], capture_output=True,
                       text=True, timeout=90, env=os.environ)
    assert r.returncode == 0, r.stderr + r.stdout
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert sorted(out["values"]) == sorted(f"kjs-{i}" for i in range(30))
    assert committed_offsets(bootstrap, group, topic, 2) == [15, 15]


def test_kafka_python_consumer_group(bootstrap):
    from kafka import KafkaConsumer

    topic, group = create_topic(bootstrap, 2), unique("kp")
    produce_values(bootstrap, topic, [f"kp-{i}" for i in range(40)], 2)
    cons = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                         auto_offset_reset="earliest", enable_auto_commit=False,
                         consumer_timeout_ms=15000)
    got = []
    for m in cons:
        got.append(m.value.decode())
        if len(got) == 40:
            break
    cons.commit()
    cons.close()
    assert sorted(got) == sorted(f"kp-{i}" for i in range(40))
    assert committed_offsets(bootstrap, group, topic, 2) == [20, 20]


def test_admin_lists_describes_and_deletes_groups(bootstrap):
    topic, group = create_topic(bootstrap, 1), unique("adm")
    produce_values(bootstrap, topic, ["x"] * 5, 1)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    while True:
        m = c.poll(1.0)
        if m is not None and not m.error():
            break
    c.commit(offsets=[TopicPartition(topic, 0, 3)], asynchronous=False)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    listed = admin.list_consumer_groups().result(10)
    assert group in [g.group_id for g in listed.valid]
    d = describe(admin, group)
    assert len(d.members) == 1 and d.members[0].assignment.topic_partitions[0].topic == topic
    # A group with a member cannot be deleted.
    with pytest.raises(KafkaException):
        admin.delete_consumer_groups([group])[group].result(10)
    c.close()  # LeaveGroup
    wait_for(lambda: str(describe(admin, group).state).upper().endswith("EMPTY"), 10, "Empty")
    res = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])])[group].result(10)
    assert res.topic_partitions[0].offset == 3
    admin.delete_consumer_groups([group])[group].result(10)
    listed = admin.list_consumer_groups().result(10)
    assert group not in [g.group_id for g in listed.valid]
