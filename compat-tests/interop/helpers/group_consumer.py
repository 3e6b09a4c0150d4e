"""A confluent-kafka group consumer as its own process, so tests can `kill -9` it.

Usage: python group_consumer.py BOOTSTRAP GROUP TOPIC [INSTANCE_ID]

Writes one JSON object per line to stdout and flushes each:
  {"event": "assign", "partitions": [0, 2]}   after every rebalance (eager: full assignment)
  {"event": "record", "partition": 1, "offset": 7, "value": "..."}
Runs until killed or its stdin closes.
"""

import json
import sys
import threading

from confluent_kafka import Consumer


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    bootstrap, group, topic = sys.argv[1:4]
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 200,
    }
    if len(sys.argv) > 4:
        conf["group.instance.id"] = sys.argv[4]
    c = Consumer(conf)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()

    def on_assign(consumer, partitions):
        emit({"event": "assign", "partitions": sorted(p.partition for p in partitions)})

    def on_revoke(consumer, partitions):
        emit({"event": "revoke", "partitions": sorted(p.partition for p in partitions)})

    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    while not stop.is_set():
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        emit({"event": "record", "partition": m.partition(), "offset": m.offset(),
              "value": m.value().decode()})
    c.close()


if __name__ == "__main__":
    main()
