"""Runs the app under gunicorn; each worker builds the app (and its connections) after forking."""

from __future__ import annotations

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


class RegistryWorker(ThreadWorker):
    """gunicorn's threaded worker: a connection waits for its first bytes in the poller, not
    in a thread; one that stalls mid-request is closed after `read_deadline` seconds; its
    own errors are problem+json."""

    # How long a connection may take to send each part of its request (and to take each part
    # of the answer): a half-sent request cannot hold a thread for longer. Set by serve().
    read_deadline = 10.0

    def init_process(self):
        util.write_error = write_problem
        super().init_process()

    def handle(self, conn):
        # gunicorn puts the socket back in blocking mode (no deadline) before it reads the
        # request; the deadline is set right after, on every request of the connection.
        init = conn.init

        def init_with_deadline():
            init()
            conn.sock.settimeout(self.read_deadline)

        conn.init = init_with_deadline
        return super().handle(conn)


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
    read_deadline: float = 10.0,
) -> None:
    """Serve until stopped; each worker calls `app_factory` after the fork."""
    RegistryWorker.read_deadline = read_deadline  # the workers fork from this process
    RegistryServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "registry.server.RegistryWorker",
            # Threads serve requests; waiting connections cost no thread (see RegistryWorker).
            "threads": threads,
            "preload_app": False,
            "accesslog": "-",
            "graceful_timeout": 10,
            # A sync worker streaming a large document to a slow client does not check in
            # with the master; the default 30 s would kill downloads that are merely slow.
            "timeout": 300,
        },
        app_factory,
    ).run()
