"""The idempotent producer (librdkafka, enable.idempotence=true) against charter.

* Through a proxy that keeps cutting the producer's connections, so requests are lost after
  the broker appended them and librdkafka retries: the log holds every record exactly once, in
  order, with no gap.
* After a batch is rejected by schema validation (INVALID_RECORD), the producer recovers
  (librdkafka takes a new producer id) and later valid records are delivered.
"""

import os
import socket
import struct
import tempfile
import threading
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from helpers.charter import free_port, start


class CuttingProxy:
    """Forwards 127.0.0.1:port to the broker and, while `cutting` is set, drops every open
    connection each time another `every` bytes of requests have gone to the broker: right
    after a request was handed over, so its response is lost although the broker acted on it.
    """

    def __init__(self, target_port, every=16 * 1024):
        self.target = ("127.0.0.1", target_port)
        self.every = every
        self.cutting = threading.Event()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.open = []
        self.sent = 0
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False),
                             daemon=True).start()

    def _pump(self, src, dst, to_broker):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if to_broker and self.cutting.is_set():
                    with self.lock:
                        self.sent += len(data)
                        due = self.sent >= self.every
                        if due:
                            self.sent = 0
                    if due:
                        self.cut()
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            victims, self.open = self.open, []
            self.cuts += 1
        for s in victims:
            try:
                # RST rather than FIN: the in-flight response is lost for sure.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            except OSError:
                pass

    def close(self):
        self.cutting.clear()
        self.listener.close()
        self.cut()


def test_connection_cuts_cause_no_duplicates_and_no_gaps():
    with tempfile.TemporaryDirectory() as data_dir:
        kport = free_port()
        # The proxy must exist before the broker advertises it.
        proxy = CuttingProxy(kport)
        proc, _ = start(data_dir, kafka_port=kport, advertised=f"127.0.0.1:{proxy.port}")
        bootstrap = f"127.0.0.1:{proxy.port}"
        try:
            topic = "idem"
            total = 10000
            errors, delivered = [], []
            p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                          "acks": "all", "linger.ms": 1, "batch.num.messages": 50,
                          "max.in.flight.requests.per.connection": 5,
                          "message.timeout.ms": 120000, "retry.backoff.ms": 50,
                          # Reconnect at once after each cut (the default backs off to 10 s).
                          "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 100})

            def cb(err, msg):
                (errors if err else delivered).append(err or msg.offset())

            proxy.cutting.set()
            for i in range(total):
                while True:
                    try:
                        p.produce(topic, f"{i:08d}".encode(), partition=0, callback=cb)
                        break
                    except BufferError:
                        p.poll(0.05)
                p.poll(0)
            remaining = p.flush(120)
            proxy.cutting.clear()
            assert remaining == 0
            assert errors == [], errors[:5]
            assert proxy.cuts > 5, "the test must really cut connections mid-stream"

            c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                          "enable.auto.commit": False})
            _, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
            c.assign([TopicPartition(topic, 0, 0)])
            values, deadline = [], time.time() + 60
            while len(values) < high and time.time() < deadline:
                m = c.poll(0.5)
                if m is not None and not m.error():
                    values.append(int(m.value()))
            c.close()
            assert high == total, f"{high - total} extra records (duplicates) in the log"
            assert values == list(range(total)), "every record once, in order"
        finally:
            proxy.close()
            proc.kill()
            proc.wait()


def test_producer_recovers_after_a_validation_rejection(registry_url):
    bootstrap = os.environ["CHARTER_KAFKA_BOOTSTRAP"]
    topic = f"idem-valid-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1,
                                  config={"confluent.value.schema.validation": "true"})])[
        topic].result(10)
    schema = '{"type":"record","name":"N","fields":[{"name":"n","type":"int"}]}'
    sid = SchemaRegistryClient({"url": registry_url}).register_schema(
        f"{topic}-value", Schema(schema, "AVRO"))

    def framed(n):
        # Confluent framing + Avro int (zigzag varint) for small n.
        return b"\x00" + sid.to_bytes(4, "big") + bytes([n << 1])

    results = []
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                  "linger.ms": 0})
    cb = lambda err, msg: results.append((err, msg.value()))
    p.produce(topic, framed(1), callback=cb)
    p.flush(10)
    p.produce(topic, b"not framed at all", callback=cb)
    p.flush(10)
    for n in range(2, 12):
        p.produce(topic, framed(n), callback=cb)
    assert p.flush(30) == 0
    rejected = [v for err, v in results if err is not None]
    assert rejected == [b"not framed at all"]
    assert [v for err, v in results if err is None] == [framed(n) for n in [1] + list(range(2, 12))]

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got, deadline = [], time.time() + 20
    while len(got) < 11 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    c.close()
    assert got == [framed(n) for n in [1] + list(range(2, 12))]


def test_retries_after_a_broker_kill_9_are_deduplicated():
    """The broker is SIGKILLed under an idempotent producer and restarted on the same port:
    librdkafka retries what it had in flight, and the sequence state rebuilt from the log
    recognises what was already stored."""
    with tempfile.TemporaryDirectory() as data_dir:
        kport = free_port()
        proc, bootstrap = start(data_dir, kafka_port=kport)
        try:
            topic, total = "idem-crash", 20000
            errors, delivered, lock = [], [], threading.Lock()

            def cb(err, msg):
                with lock:
                    (errors if err else delivered).append(err or msg.offset())

            p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                          "acks": "all", "linger.ms": 2, "batch.num.messages": 100,
                          "message.timeout.ms": 120000, "retry.backoff.ms": 100,
                          "reconnect.backoff.ms": 100, "reconnect.backoff.max.ms": 500})
            for i in range(total):
                p.produce(topic, f"{i:08d}".encode(), partition=0, callback=cb)
                p.poll(0)
            # Kill while deliveries are in full flow: requests are in flight.
            deadline = time.time() + 60
            while time.time() < deadline:
                p.poll(0.01)
                with lock:
                    if len(delivered) >= total // 4:
                        break
            with lock:
                at_kill = len(delivered)
            proc.kill()  # SIGKILL
            proc.wait()
            proc, _ = start(data_dir, kafka_port=kport)
            killed = total // 4 <= at_kill < total
            assert killed, "the broker must be killed mid-stream"
            assert p.flush(120) == 0
            assert errors == [], errors[:5]

            c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                          "enable.auto.commit": False})
            _, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
            c.assign([TopicPartition(topic, 0, 0)])
            values, deadline = [], time.time() + 60
            while len(values) < high and time.time() < deadline:
                m = c.poll(0.5)
                if m is not None and not m.error():
                    values.append(int(m.value()))
            c.close()
            assert high == total, f"{high - total} extra records (duplicates) in the log"
            assert values == list(range(total)), "every record once, in order"
        finally:
            proc.kill()
            proc.wait()
