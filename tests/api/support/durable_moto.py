"""moto's server for the DynamoDB write test that stops and restarts its backend mid-run.

Three things DynamoDB does and moto_server does not, added around moto's own code (its wire
protocol, conditions and update expressions are untouched):

- Durable: SIGTERM saves every table (pickled, under the lock below, so no request is half
  applied) and the next start on the same STATE_FILE loads them. A request moto applied but
  could not answer before it stopped is the "answer lost" case a client must survive.
- Isolated: one request at a time. moto's transactions are not isolated from concurrent ones.
- Rollback per item: moto copies a whole table for each transaction in case it must roll back,
  which makes a test of thousands of writes take hours; this remembers only the items the
  transaction names and puts them back if it fails.

Usage: python durable_moto.py PORT STATE_FILE
"""
import copy
import os
import pickle
import signal
import sys
import threading

from moto.backends import get_backend
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

one_at_a_time = threading.Lock()


def serialized(app):
    def call(environ, start_response):
        with one_at_a_time:
            return list(app(environ, start_response))
    return call


moto_transact_write_items = DynamoDBBackend.transact_write_items


def key_of(table, op_type, op):
    if op_type != "Put":
        return op["Key"]
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {name: op["Item"][name] for name in names}


def transact_write_items(self, transact_items):
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


def split_key(table, key):
    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return hash_key, range_key


def regions():
    for account, backends in get_backend("dynamodb").items():
        for region, backend in backends.items():
            yield account, region, backend


def save(path):
    tables = {(account, region): backend.tables for account, region, backend in regions()}
    with open(path + ".new", "wb") as file:
        pickle.dump(tables, file)
    os.replace(path + ".new", path)


def load(path):
    with open(path, "rb") as file:
        tables = pickle.load(file)
    for (account, region), saved in tables.items():
        get_backend("dynamodb")[account][region].tables = saved


def main():
    port, state = int(sys.argv[1]), sys.argv[2]
    DynamoDBBackend.transact_write_items = transact_write_items
    if os.path.exists(state):
        load(state)

    def stop(_signal, _frame):
        with one_at_a_time:
            save(state)
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    server = make_server("127.0.0.1", port, serialized(DomainDispatcherApplication(create_backend_app)),
                         threaded=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
