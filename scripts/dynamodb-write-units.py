#!/usr/bin/env python3
"""What one `POST /events` costs in DynamoDB capacity units, from the items it wrote.

moto does not count capacity (it answers fixed figures), so this reads back every item the POST
wrote or read and applies DynamoDB's published sizing rules to their real sizes:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
(names + values; a number is 1 byte per two significant digits + 1; a map or list 3 bytes + 1 per
element) and
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html
(a transactional write costs 2 write units per KB of each item; a strongly consistent read 1 read
unit per 4 KB). Each of the two indexes projects the whole event, and its entry is counted as a
standard write of that size (1 unit per KB). Since layout 2 every event, day, engineer and
delivery item is written twice, for the whole store and for the event's service (keys prefixed
`SVC#<service>#`); the service's totals and its commit's firsts (a commit is its service's)
once.

Usage: dynamodb-write-units.py ENDPOINT TABLE EVENT_ID IDEMPOTENCY_KEY  -> one JSON object
"""
import json
import math
import os
import sys
from datetime import datetime, timezone

import boto3


def number_size(text):
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def value_size(value):
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return number_size(inner)
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(number_size(n) for n in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item):
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def main():
    endpoint, table, event_id, key = sys.argv[1:5]
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=os.environ["AWS_REGION"])

    def get(pk, sk):
        found = client.get_item(TableName=table, ConsistentRead=True,
                                Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item")
        if found is None:
            raise SystemExit(f"no item {pk} / {sk} in {table}")
        return found

    by_id = get(f"ID#{event_id}", "EVENT")
    ts = int(by_id["ts"]["N"])
    sha = by_id["sha"]["S"]
    engineer = by_id["engineer"]["S"]
    service = by_id["svc"]["S"]
    when = datetime.fromtimestamp(ts, timezone.utc)
    day = when.strftime("%Y-%m-%d")
    scoped = {  # the items kept for the whole store and again for the service
        "event": (f"EV#{when:%Y-%m}", f"{ts:012}#{int(event_id):020}"),
        "day totals": (f"DAY#{when:%Y}", day),
        "engineer's day": (f"ENGDAY#{engineer}", day),
        "engineer totals": ("ENGINEERS", engineer),
        # The delivery metrics' facts: the day's deploys.
        "delivery day": (f"DLV#{when:%Y}", day),
    }
    written = {  # the items of the transaction, by what they are
        **scoped,
        **{f"{name} (service)": (f"SVC#{service}#{pk}", sk) for name, (pk, sk) in scoped.items()},
        # The commit's firsts, if this is its first deploy (the benchmark's keyed POST is).
        "commit's firsts": (f"SVC#{service}#COMMIT#{sha}", "FIRSTS"),
        "event by id": (f"ID#{event_id}", "EVENT"),
        "store totals": ("META", "STORE"),
        "service totals": ("SERVICES", service),
        "idempotency record": (f"IDEM#{key}", "REQUEST"),
    }
    items = {name: item_size(get(*keys)) for name, keys in written.items()}
    if int(get(*written["commit's firsts"])["deploy"]["N"]) != ts:
        raise SystemExit("the event is not its commit's first deploy: its firsts were not written")
    # Read first, strongly consistent: the aggregates with the commit (one BatchGetItem), then
    # the delivery days (another).
    aggregates = [name for name in items
                  if name not in ("event", "event (service)", "event by id", "idempotency record")]
    counter = item_size(get("COUNTER", "EVENT_ID"))
    kib = lambda size: math.ceil(size / 1024)
    transaction = {name: 2 * kib(size) for name, size in items.items()}
    index_entries = 2 * (kib(items["event"]) + kib(items["event (service)"]))
    # The counter is one standard UpdateItem; the reads are strongly consistent.
    keyless = sum(v for k, v in transaction.items() if k != "idempotency record") + index_entries + kib(counter)
    print(json.dumps({
        "item_bytes": items, "counter_bytes": counter,
        "transaction_write_units": transaction, "index_write_units": index_entries,
        "counter_write_units": kib(counter),
        "write_units_without_key": keyless,
        "write_units_with_key": keyless + transaction["idempotency record"],
        "read_units": sum(math.ceil(items[name] / 4096) for name in aggregates),
        # With a key, the idempotency record is looked up first (strongly consistent, absent).
        "read_units_with_key": sum(math.ceil(items[name] / 4096) for name in aggregates) + 1,
    }))


if __name__ == "__main__":
    main()
