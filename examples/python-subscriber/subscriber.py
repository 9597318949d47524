"""A findings subscriber in Python: reads att-stream's findings topic the way every subscriber
must (isolation.level=read_committed: the score stage writes in Kafka transactions, and an aborted
transaction's records must never be seen) and validates every record against the published JSON
Schema (schemas/finding.v1.schema.json), whatever language wrote it.

    python subscriber.py --brokers 127.0.0.1:9092 --topic att.findings.v1 --group my-subscriber
    python subscriber.py ... --stop-at-end      # read to the end of every partition, then stop

Per record: a tombstone (null value) retracts the finding under that key; anything else must be
JSON that passes the schema and whose uniqueKey is the record's key. An invalid record is
reported on stderr (partition, offset, the failing field and why) and counted; it does not stop
the subscriber. Offsets are committed only for records that were handled (at-least-once).

Prints one JSON summary line on stdout when it stops: records, valid, invalid, tombstones,
distinct keys and the count per alertId. Exits 1 when any record was invalid, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections import Counter
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

DEFAULT_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "finding.v1.schema.json"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--brokers", default="127.0.0.1:9092", help="bootstrap servers (default %(default)s)")
    p.add_argument("--topic", default="att.findings.v1", help="findings topic (default %(default)s)")
    p.add_argument("--group", required=True, help="this subscriber's consumer group")
    p.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="JSON Schema file (default: the repository's)")
    p.add_argument("--stop-at-end", action="store_true", help="stop once every partition is read to its end")
    p.add_argument("--quiet", action="store_true", help="no line per finding on stdout")
    return p.parse_args(argv)


def describe(error) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path) or "(root)"
    return f"{path.lstrip('.')}: {error.message}"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    schema = json.loads(args.schema.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)

    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": args.group,
            # The score stage writes findings in transactions: never read uncommitted ones.
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            # Offsets are stored by hand after a record is handled, then committed in the background.
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
        }
    )
    assigned: set[tuple[str, int]] = set()
    at_end: set[tuple[str, int]] = set()

    def on_assign(c, partitions):
        assigned.update((p.topic, p.partition) for p in partitions)

    def on_revoke(c, partitions):
        for p in partitions:
            assigned.discard((p.topic, p.partition))
            at_end.discard((p.topic, p.partition))

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    counts = Counter()
    alerts = Counter()
    keys: set[str] = set()
    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke)
    try:
        while not stopping:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            tp = (msg.topic(), msg.partition())
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(tp)
                    if args.stop_at_end and assigned and at_end >= assigned:
                        break
                    continue
                raise KafkaException(msg.error())
            at_end.discard(tp)
            counts["records"] += 1
            key = msg.key().decode("utf-8") if msg.key() is not None else None
            if key is not None:
                keys.add(key)
            where = f"partition {msg.partition()} offset {msg.offset()}"
            problem = None
            if msg.value() is None:
                counts["tombstones"] += 1
                if not args.quiet:
                    print(f"retracted {key} ({where})", flush=True)
            else:
                try:
                    finding = json.loads(msg.value())
                except ValueError as err:
                    problem = f"not JSON ({err})"
                else:
                    error = best_match(validator.iter_errors(finding))
                    if error is not None:
                        problem = describe(error)
                    elif finding["uniqueKey"] != key:
                        problem = f"key {key!r} is not the finding's uniqueKey {finding['uniqueKey']!r}"
                if problem is None:
                    counts["valid"] += 1
                    alerts[finding["alertId"]] += 1
                    if not args.quiet:
                        print(f"{finding['alertId']} {finding['severity']} {key} ({where})", flush=True)
                else:
                    counts["invalid"] += 1
                    print(f"invalid record at {where}, key {key!r}: {problem}", file=sys.stderr, flush=True)
            consumer.store_offsets(message=msg)
    finally:
        consumer.close()  # commits the stored offsets

    summary = {
        "records": counts["records"],
        "valid": counts["valid"],
        "invalid": counts["invalid"],
        "tombstones": counts["tombstones"],
        "distinct_keys": len(keys),
        "by_alert_id": dict(sorted(alerts.items())),
    }
    print(json.dumps(summary), flush=True)
    return 1 if counts["invalid"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
