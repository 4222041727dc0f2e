"""Runs the app under gunicorn; each worker builds the app (and its connections) after forking."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.sync import SyncWorker

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


class RegistryWorker(SyncWorker):
    """gunicorn's sync worker, whose own errors are problem+json like every other error."""

    def init_process(self):
        # gunicorn writes the errors it finds before the app (a request line too long, a
        # header too large or malformed, an unknown transfer coding) with util.write_error,
        # as HTML; this worker process writes them as problem+json instead.
        util.write_error = write_problem
        super().init_process()


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
) -> None:
    """Serve until stopped; each worker calls `app_factory` after the fork."""
    RegistryServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "registry.server.RegistryWorker",
            "preload_app": False,
            "accesslog": "-",
            "graceful_timeout": 10,
            # A sync worker streaming a large document to a slow client does not check in
            # with the master; the default 30 s would kill downloads that are merely slow.
            "timeout": 300,
        },
        app_factory,
    ).run()
