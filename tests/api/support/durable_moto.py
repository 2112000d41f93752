"""moto's server for the DynamoDB write test that stops and restarts its backend mid-run.

Three things DynamoDB does and moto_server does not, added around moto's own code (its wire
protocol, conditions and update expressions are untouched):

- Durable: SIGTERM saves every table (pickled, under the lock below, so no request is half
  applied) and the next start on the same STATE_FILE loads them. A request moto applied but
  could not answer before it stopped is the "answer lost" case a client must survive.
- Isolated: one request at a time. moto's transactions are not isolated from concurrent ones.
- Rollback per item, from moto_server.py beside this file (see there why).

Usage: python durable_moto.py PORT STATE_FILE
"""
import os
import pickle
import signal
import sys
import threading

from moto.backends import get_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

import moto_server

one_at_a_time = threading.Lock()


def serialized(app):
    def call(environ, start_response):
        with one_at_a_time:
            return list(app(environ, start_response))
    return call


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
    moto_server.install()
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
