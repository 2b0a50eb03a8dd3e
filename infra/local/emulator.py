"""Runs the AWS emulator (moto's server) for local runs and tests, one request at a time.

moto serves S3, Secrets Manager and the other services; DynamoDB runs on dynalite (see
stack.sh). moto's threaded server is not safe under concurrent requests: it checks a
condition and applies a write in separate steps, so two requests can both pass one check.
Handling requests under one lock keeps each request atomic while connections stay
concurrent.

usage: python emulator.py HOST PORT
"""

import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def dump_safe_rds_clusters() -> None:
    """Lets /moto-api/data.json (which tests read sent emails from) dump RDS clusters.

    moto's cluster model raises on reading the master password, which fails the whole
    dump as soon as any test has made a cluster; the dump shows it as hidden instead.
    """
    from moto.rds.models import DBCluster

    original = DBCluster.master_user_password
    DBCluster.master_user_password = property(lambda _self: "(hidden)", original.fset)


def main(host: str, port: int) -> None:
    os.environ.setdefault("MOTO_PORT", str(port))
    dump_safe_rds_clusters()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    inner = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            # Materialise the body under the lock: the request is done when it is sent.
            return list(inner(environ, start_response))

    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
