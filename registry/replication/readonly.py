"""A read-only node's HTTP side: writes refused with 503 naming the primary, and the database
connection released after every request so that Litestream's follower can apply changes."""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.wsgi import ClosingIterator

from ..http.problems import PROBLEM_TYPE_BASE, problem

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Reads that write on the primary: a customer's download is recorded as a disclosure, and the
# stored copies stay with the primary (Litestream replicates the database, not the files).
PRIMARY_ONLY_RULES = frozenset({"/v1/documents/<string:document_id>/content"})


def refuse_writes():
    """Before every request on a read-only node: 503 for a write, before any other check."""
    if request.routing_exception is not None or request.url_rule is None:
        return None  # 404 and 405 as anywhere else
    if request.method not in WRITES and request.url_rule.rule not in PRIMARY_ONLY_RULES:
        return None
    primary = current_app.extensions["registry"].settings.primary_url
    where = f"the primary at {primary.rstrip('/')}" if primary else "the primary"
    extensions = {"primary": primary.rstrip("/")} if primary else {}
    what = "writes" if request.method in WRITES else "document downloads"
    return problem(
        503,
        f"This node is a read-only replica; send {what} to {where}.",
        title="Read-only replica",
        type=PROBLEM_TYPE_BASE + "read-only-replica",
        **extensions,
    )


class ReleaseConnections:
    """WSGI middleware: once an answer is sent, close the thread's database connection.

    An open connection to a WAL database keeps a shared lock on the file, and Litestream's
    follower applies new changes only when no reader holds one.
    """

    def __init__(self, flask_app: Flask, wsgi_app):
        self.next = wsgi_app
        self.extensions = flask_app.extensions  # the registry is read per request, like Flask's

    def __call__(self, environ, start_response):
        release = self.extensions["registry"].db.release
        try:
            body = self.next(environ, start_response)
        except BaseException:
            release()
            raise
        return ClosingIterator(body, release)


def init_app(app: Flask) -> None:
    """Make `app` a read-only node: call before the other before_request hooks are added."""
    app.before_request(refuse_writes)
    app.wsgi_app = ReleaseConnections(app, app.wsgi_app)
