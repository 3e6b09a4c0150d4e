"""A confluent-kafka group consumer as its own process, so tests can `kill -9` it.

Usage: python group_consumer.py BOOTSTRAP GROUP TOPIC STRATEGY [INSTANCE_ID]

STRATEGY is partition.assignment.strategy (range, roundrobin, cooperative-sticky).
Writes one JSON object per line to stdout and flushes each:
  {"event": "assign", "partitions": [0, 2]}   partitions added (eager: the full assignment)
  {"event": "revoke", "partitions": [0]}      partitions taken away
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
    bootstrap, group, topic, strategy = sys.argv[1:5]
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 200,
        "partition.assignment.strategy": strategy,
    }
    if len(sys.argv) > 5:
        conf["group.instance.id"] = sys.argv[5]
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
