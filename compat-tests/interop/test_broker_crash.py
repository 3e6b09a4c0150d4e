"""Durability of acks=all, proven with `kill -9` of a real `charter serve` process.

A confluent-kafka producer (acks=all) writes continuously; the broker is SIGKILLed mid-stream
and restarted on the same data directory. Every acknowledged record must be there, at the
offset it was acknowledged with, in order, and the log must read back cleanly (no torn batch).
"""

import os
import signal
import tempfile
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from helpers.charter import start


def test_acked_records_survive_kill_9():
    assert os.environ.get("CHARTER_BIN"), "run through compat-tests/interop/run.sh"
    with tempfile.TemporaryDirectory() as data_dir:
        proc, bootstrap = start(data_dir)
        topic = "crash"
        acked, lock, stop = {}, threading.Lock(), threading.Event()

        def on_delivery(err, msg):
            if err is None:
                with lock:
                    acked[msg.offset()] = msg.value()

        def produce():
            p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2,
                          "message.timeout.ms": 3000, "retries": 0})
            i = 0
            while not stop.is_set():
                try:
                    p.produce(topic, f"record-{i:08d}".encode() * 4, callback=on_delivery)
                    i += 1
                except BufferError:
                    pass
                p.poll(0)
            p.flush(5)

        t = threading.Thread(target=produce)
        t.start()
        deadline = time.time() + 30
        while time.time() < deadline:
            with lock:
                if len(acked) >= 3000:
                    break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        t.join()
        with lock:
            snapshot = dict(acked)
        assert len(snapshot) >= 1000, f"only {len(snapshot)} acknowledged before the kill"

        proc, bootstrap = start(data_dir)
        try:
            c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                          "enable.auto.commit": False})
            _, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
            assert high >= max(snapshot) + 1
            c.assign([TopicPartition(topic, 0, 0)])
            got, deadline = {}, time.time() + 60
            while len(got) < high and time.time() < deadline:
                m = c.poll(0.5)
                if m is not None and not m.error():
                    got[m.offset()] = m.value()
            c.close()
            assert sorted(got) == list(range(high)), "offsets are contiguous from 0"
            missing = [o for o, v in snapshot.items() if got.get(o) != v]
            assert missing == [], f"{len(missing)} acknowledged records lost or changed"
            # Records are in production order: the counters increase with the offsets.
            counters = [int(got[o][7:15]) for o in range(high)]
            assert counters == sorted(counters)
        finally:
            proc.kill()
            proc.wait()
