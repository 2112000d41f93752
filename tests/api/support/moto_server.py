"""moto_server with two changes that make it faster and answer the same.

1. A failed transaction is rolled back item by item. moto's TransactWriteItems deep-copies the
   whole table once per item of the transaction, in case it must roll back. A transaction of 40
   items on a table of 5 000 took 3.5 s, so an import that moves commits in transactions took
   minutes on moto and seconds on DynamoDB. This remembers the items the transaction names and
   puts them back if it fails: the same all-or-nothing answer, at the cost of the transaction's
   own items. Transactions run one at a time, as the rollback needs.

2. A Query of the table (not of an index) looks at its partition's items only. moto reads and
   sorts every item of the table for each Query, so an import, which queries each day it
   touches, slowed down as the table grew.

And two changes that make it answer as DynamoDB does where moto does not check:

3. DynamoDB's documented limits on what a request names. moto refuses an oversized key only
   when an item is written; DynamoDB also refuses a GetItem, DeleteItem, UpdateItem or
   BatchGetItem key, and a Query's key condition, whose partition key value is over 2048 bytes
   or sort key value over 1024 bytes ("Size of hashkey has exceeded the maximum size limit of
   2048 bytes", a ValidationException), and a TransactWriteItems request over 4 MB. moto
   already refuses items over 400 KB, batches of more than 25 writes or 100 keys,
   transactions of more than 100 items and two operations on one item.

4. Isolation: a read or a single write never sees, nor lands in the middle of, a transaction
   being applied (or rolled back) item by item.

moto's wire protocol, conditions and update expressions are untouched.

Usage, as moto_server: python moto_server.py -H 127.0.0.1 -p PORT
Imported by durable_moto.py, which adds durability.
"""
import copy
import inspect
import json
import re
import sys
import threading

from moto.dynamodb.exceptions import HashKeyTooLong, MockValidationException, RangeKeyTooLong
from moto.dynamodb.limits import HASH_KEY_MAX_LENGTH, RANGE_KEY_MAX_LENGTH
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

moto_transact_write_items = DynamoDBBackend.transact_write_items
# Reentrant: a transaction reads its items (below) while it holds it.
one_transaction_at_a_time = threading.RLock()


def key_of(table, op_type, op):
    if op_type != "Put":
        return op["Key"]
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {name: op["Item"][name] for name in names}


def split_key(table, key):
    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return hash_key, range_key


def transact_write_items(self, transact_items):
    with one_transaction_at_a_time:
        try:
            saved = []
            for entry in transact_items:
                op_type, op = next(iter(entry.items()))
                table = self.get_table(op["TableName"])
                key = key_of(table, op_type, op)
                before = self.get_item(op["TableName"], key)
                attributes = None if before is None else copy.deepcopy(before.to_json()["Attributes"])
                saved.append((table, key, attributes))
        except Exception:  # a request moto refuses anyway: let moto answer it its own way
            return moto_transact_write_items(self, transact_items)
        Table.__deepcopy__ = lambda table, memo: table  # moto's whole-table copy, made free
        try:
            return moto_transact_write_items(self, transact_items)
        except Exception:
            for table, key, attributes in reversed(saved):
                if attributes is None:
                    table.delete_item(*split_key(table, key))
                else:
                    table.put_item(attributes)
            raise
        finally:
            del Table.__deepcopy__


def not_during_a_transaction(method):
    """DynamoDB never shows a read what a transaction has written but not committed, nor lets a
    single write land between a transaction's items. moto applies a transaction item by item
    (and this module rolls a failed one back item by item): a read or write from another
    request waits until the transaction is over."""
    def isolated(self, *args, **kwargs):
        with one_transaction_at_a_time:
            return method(self, *args, **kwargs)
    return isolated


for name in ("get_item", "query", "scan", "put_item", "update_item", "delete_item"):
    setattr(DynamoDBBackend, name, not_during_a_transaction(getattr(DynamoDBBackend, name)))


moto_query = Table.query
moto_all_items = Table.all_items
querying = threading.local()


def query(self, *args, **kwargs):
    call = inspect.signature(moto_query).bind(self, *args, **kwargs).arguments
    if call.get("index_name"):
        return moto_query(self, *args, **kwargs)
    querying.partition = (self, call["hash_key"])
    try:
        return moto_query(self, *args, **kwargs)
    finally:
        querying.partition = None


def all_items(self):
    table, hash_key = getattr(querying, "partition", None) or (None, None)
    if table is not self:
        return moto_all_items(self)
    found = self.items.get(hash_key)
    if found is None:
        return []
    if not self.range_key_attr:
        return [found]
    return sorted(found.values(), key=lambda item: (item.hash_key, item.range_key))


TRANSACTION_MAX_BYTES = 4 * 1024 * 1024


def check_key_value(value, limit):
    if value is not None and DynamoType(value).size() > limit:
        raise HashKeyTooLong() if limit == HASH_KEY_MAX_LENGTH else RangeKeyTooLong()


def check_key(backend, table_name, key):
    table = backend.get_table(table_name)
    check_key_value(key.get(table.hash_key_attr), HASH_KEY_MAX_LENGTH)
    if table.range_key_attr:
        check_key_value(key.get(table.range_key_attr), RANGE_KEY_MAX_LENGTH)


def check_key_condition(backend, body):
    """A Query's key condition: the value compared with the partition key (of the table or the
    index queried) is held to 2048 bytes, every other value in the condition to 1024."""
    table = backend.get_table(body["TableName"])
    hash_attr = table.hash_key_attr
    for index in table.indexes + table.global_indexes:
        if index.name == body.get("IndexName"):
            hash_attr = next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
    names = body.get("ExpressionAttributeNames") or {}
    values = body.get("ExpressionAttributeValues") or {}
    condition = body.get("KeyConditionExpression") or ""
    hash_values = {
        value
        for name, value in re.findall(r"([#\w]+)\s*=\s*(:\w+)", condition)
        if names.get(name, name) == hash_attr
    }
    for placeholder in re.findall(r":\w+", condition):
        limit = HASH_KEY_MAX_LENGTH if placeholder in hash_values else RANGE_KEY_MAX_LENGTH
        check_key_value(values.get(placeholder), limit)


def enforce_limits(handler, operation):
    backend = handler.dynamodb_backend
    body = handler.body
    if operation in ("get_item", "delete_item", "update_item"):
        check_key(backend, body["TableName"], body["Key"])
    elif operation == "batch_get_item":
        for table_name, request in body["RequestItems"].items():
            for key in request["Keys"]:
                check_key(backend, table_name, key)
    elif operation == "query":
        check_key_condition(backend, body)
    elif operation == "transact_write_items":
        if len(json.dumps(body).encode()) > TRANSACTION_MAX_BYTES:
            raise MockValidationException("Transaction request size exceeds the maximum of 4 MB")
        for entry in body["TransactItems"]:
            op_type, op = next(iter(entry.items()))
            if op_type != "Put":
                check_key(backend, op["TableName"], op["Key"])


def limited(operation):
    moto_operation = getattr(DynamoHandler, operation)

    def checked(self):
        enforce_limits(self, operation)
        return moto_operation(self)

    return checked


def install():
    DynamoDBBackend.transact_write_items = transact_write_items
    Table.query = query
    Table.all_items = all_items
    for operation in (
        "get_item",
        "delete_item",
        "update_item",
        "batch_get_item",
        "query",
        "transact_write_items",
    ):
        setattr(DynamoHandler, operation, limited(operation))


if __name__ == "__main__":
    from moto.server import main

    install()
    sys.exit(main(sys.argv[1:]))
