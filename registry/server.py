"""Runs the app under gunicorn; each worker builds the app (and its connections) after forking."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask
from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from .http.problems import PROBLEM_MEDIA_TYPE, problem_body


def write_problem(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's error page, as problem+json with the headers every answer carries."""
    body = problem_body(status_int, mesg or reason)
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {PROBLEM_MEDIA_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        "\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class _StalledConnections(logging.Filter):
    """gunicorn logs a read that hit the deadline as a socket error with its traceback; it is
    a client that stalled, one line at info level (a flood of them is no flood of traces)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], TimeoutError):
            record.msg, record.args = "Closed a connection that stalled mid-request.", ()
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def _closed(graceful: bool = False) -> None:
    """A connection's close once its thread has closed it."""


class RegistryWorker(ThreadWorker):
    """gunicorn's threaded worker with a read deadline; its own errors are problem+json.

    A new connection waits for its first bytes in a thread (at most 5 s, then in the
    poller), and a request is read and answered in a thread. Every read and write on the
    socket has `read_deadline` seconds, so a client that stalls mid-request holds its thread
    that long at most; there are enough threads that 200 stalled clients leave others served.
    """

    # Set by serve(), in the master, before the workers fork.
    read_deadline = 10.0

    def init_process(self):
        # gunicorn writes the errors it finds before the app (a request line too long, a
        # header too large or malformed, an unknown transfer coding) with util.write_error,
        # as HTML; this worker process writes them as problem+json instead.
        util.write_error = write_problem
        self.log.error_log.addFilter(_StalledConnections())
        super().init_process()

    def handle(self, conn):
        # gunicorn puts the socket in blocking mode (no deadline) before each request of the
        # connection, then initialises it (once): the deadline goes on right after.
        if not getattr(conn, "deadline_set", False):
            init = conn.init

            def init_with_deadline():
                init()
                conn.sock.settimeout(self.read_deadline)

            conn.init, conn.deadline_set = init_with_deadline, True
        keep = super().handle(conn)
        if keep is False:
            # gunicorn would close it in its one event-loop thread, lingering up to 2 s for
            # the client to close first: a few stalled clients would freeze every other
            # connection. Closed here instead, in this request's thread.
            util.close_graceful(conn.sock, timeout=min(2.0, self.read_deadline))
            conn.close = _closed
        return keep


class RegistryServer(BaseApplication):
    def __init__(self, options: dict, app_factory: Callable[[], Flask]):
        self.options = options
        self.app_factory = app_factory
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # Newer gunicorns open a control socket at one fixed per-user path, which two
        # servers on one machine would fight over; the registry does not use it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self):
        return self.app_factory()


def serve(
    *,
    host: str,
    port: int,
    workers: int,
    app_factory: Callable[[], Flask],
    threads: int = 256,
    read_timeout: float = 10.0,
) -> None:
    """Serve until stopped; each worker calls `app_factory` after the fork."""
    RegistryWorker.read_deadline = read_timeout
    RegistryServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "registry.server.RegistryWorker",
            "threads": threads,
            "preload_app": False,
            "accesslog": "-",
            "graceful_timeout": 10,
            # The master restarts a worker whose event loop has not checked in for this
            # long; requests run in threads and do not hold the loop.
            "timeout": 60,
        },
        app_factory,
    ).run()
