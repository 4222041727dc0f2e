"""Hello-world baseline: one Flask route with a small JSON body, served like `registry serve`."""

from __future__ import annotations

import argparse

from flask import Flask

from registry import server


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/hello")
    def hello():
        return {"hello": "world"}

    return app


def serve(*, host: str, port: int, workers: int) -> None:
    # registry.server.serve() owns the gunicorn options: the same ones, another app.
    server.serve(host=host, port=port, workers=workers, app_factory=create_app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    serve(host=args.host, port=args.port, workers=args.workers)


if __name__ == "__main__":
    main()
