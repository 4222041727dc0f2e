"""Runs the app under gunicorn; each worker builds the app (and its connections) after forking."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from gunicorn.app.base import BaseApplication


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


def serve(*, host: str, port: int, workers: int, app_factory: Callable[[], Flask]) -> None:
    """Serve until stopped; each worker calls `app_factory` after the fork."""
    RegistryServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "sync",
            "preload_app": False,
            "accesslog": "-",
            "graceful_timeout": 10,
            # A sync worker streaming a large document to a slow client does not check in
            # with the master; the default 30 s would kill downloads that are merely slow.
            "timeout": 300,
        },
        app_factory,
    ).run()
