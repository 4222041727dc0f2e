"""Bare download baseline: one Flask route, send_file of one file, served like `registry serve`."""

from __future__ import annotations

import argparse
import os

from flask import Flask, send_file

from registry import server


def create_app(path: str, etag: str) -> Flask:
    app = Flask(__name__)

    @app.get("/file")
    def download():
        return send_file(
            path,
            mimetype="application/pdf",
            as_attachment=True,
            download_name=os.path.basename(path) + ".pdf",
            conditional=True,
            etag=etag,
        )

    return app


def serve(*, host: str, port: int, workers: int, path: str, etag: str) -> None:
    # registry.server.serve() owns the gunicorn options: the same ones, another app.
    server.serve(host=host, port=port, workers=workers, app_factory=lambda: create_app(path, etag))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--file", required=True)
    parser.add_argument("--etag", required=True)
    args = parser.parse_args()
    serve(host=args.host, port=args.port, workers=args.workers, path=args.file, etag=args.etag)


if __name__ == "__main__":
    main()
