"""Runs the AWS emulator (moto's server) for local runs and tests, one request at a time.

DynamoDB applies a conditional write atomically; the rate limiter, sessions and
idempotency keys rely on that. moto's threaded server checks a condition and applies the
update in separate steps, so two concurrent requests can both pass one check. Handling
requests under one lock restores DynamoDB's guarantee while connections stay concurrent.

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


def main(host: str, port: int) -> None:
    os.environ.setdefault("MOTO_PORT", str(port))
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
