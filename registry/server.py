"""Runs the app under gunicorn; each worker builds the app (and its connections) after forking."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class RegistryServer(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # Newer gunicorns open a control socket at one fixed per-user path, which two
        # servers on one machine would fight over; the registry does not use it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self):
        from . import create_app

        return create_app()


def serve(*, host: str, port: int, workers: int) -> None:
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
        }
    ).run()
