"""Runs the app under gunicorn; each worker builds the app (and its connections) after forking.

Why a gunicorn worker subclass, and why only here: gunicorn has no option for what the
registry needs from its server, namely one deadline for a request's head and body together,
heads gathered without a thread (so slow clients hold sockets, not threads), a connection
limit per client address, and its own errors as problem+json. granian, the faster server
measured in bench/servers.py and bench/slow.py, reads a WSGI body in the app's thread with no
deadline at all, which no option changes (bench/README.md has the figures). So
`RegistryWorker` extends gunicorn's threaded worker, and this module is the only place that
touches gunicorn's internals (its poller, `TConn`, `enqueue_req`, `murder_pending`,
`handle_error`): pyproject.toml bounds gunicorn to the release line these were tested with.
Nothing here reassigns an attribute of gunicorn's modules or classes.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import selectors
import socket
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from functools import partial
from http import HTTPStatus
from ssl import SSLError

from flask import Flask
from gunicorn import glogging, util
from gunicorn.app.base import BaseApplication
from gunicorn.http import RequestParser
from gunicorn.http.errors import (
    ChunkMissingTerminator,
    ExpectationFailed,
    ForbiddenProxyRequest,
    InvalidChunkExtension,
    InvalidChunkSize,
    InvalidH2CPreface,
    InvalidHeader,
    InvalidHeaderName,
    InvalidHTTPVersion,
    InvalidProxyLine,
    InvalidRequestLine,
    InvalidRequestMethod,
    InvalidResponseHeader,
    InvalidResponseHeaderName,
    InvalidSchemeHeaders,
    LimitRequestHeaders,
    LimitRequestLine,
    ObsoleteFolding,
    ParseException,
    UnsupportedTransferCoding,
)
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.exceptions import BadRequest

from .http.problems import PROBLEM_MEDIA_TYPE, problem_body

# A head longer than this is handed to a thread as it is: gunicorn's parser refuses it (414,
# 431) or reads the rest within the request's deadline.
HEAD_READ_AHEAD = 64 * 1024
# How long a connection the worker gave up on stays open after its answer, for the client to
# read it: closing on bytes it sent meanwhile would reset the connection, the answer with it.
LINGER = 2.0
# A stopping worker still waits this long for the first bytes of a connection it has just
# accepted: closing it at once would reset a request already on its way (a SIGHUP reload).
STOPPING_FIRST_BYTES = 1.0


# What the client did wrong, by gunicorn's parse error, most specific first; any other
# error is the server's (500).
_CLIENT_ERRORS: tuple[tuple[type | tuple[type, ...], int], ...] = (
    ((InvalidResponseHeader, InvalidResponseHeaderName), 500),  # the app's header
    (UnsupportedTransferCoding, 501),
    (LimitRequestLine, 414),
    (LimitRequestHeaders, 431),
    (ExpectationFailed, 417),
    ((ForbiddenProxyRequest, SSLError), 403),
    (
        (
            InvalidRequestLine,
            InvalidRequestMethod,
            InvalidHTTPVersion,
            InvalidHeader,
            InvalidHeaderName,
            ObsoleteFolding,
            InvalidProxyLine,
            InvalidSchemeHeaders,
            InvalidChunkSize,
            ChunkMissingTerminator,
            InvalidChunkExtension,
            InvalidH2CPreface,
        ),
        400,
    ),
)


def _error_status(exc: BaseException) -> int:
    return next((status for kinds, status in _CLIENT_ERRORS if isinstance(exc, kinds)), 500)


def _problem_answer(status: int, detail: str) -> bytes:
    body = problem_body(status, detail)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {PROBLEM_MEDIA_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


class _StalledConnections(logging.Filter):
    """gunicorn logs a read that hit the deadline as a socket error with its traceback; it is
    a client that stalled, one line at info level (a flood of them is no flood of traces)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], TimeoutError):
            record.msg, record.args = "Closed a connection that stalled mid-request.", ()
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class _DeadlineReader:
    """The socket as the request parser reads it: each read waits at most until the request's
    deadline, so a head and body trickled byte by byte take no longer than one slow read."""

    def __init__(self, sock, write_timeout: float):
        self.sock = sock
        self.write_timeout = write_timeout
        self.deadline = time.monotonic()

    def recv(self, size: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request did not arrive in full within its deadline")
        self.sock.settimeout(remaining)
        try:
            return self.sock.recv(size)
        finally:
            # The answer's writes each have the read timeout, as before the request's reads.
            self.sock.settimeout(self.write_timeout)


class RegistryConn(TConn):
    """A client connection: the worker's loop gathers each request's head without a thread,
    and the head and body together must arrive within one deadline."""

    def __init__(self, cfg, sock, client, server, deadline: float, open_per_client: Counter):
        super().__init__(cfg, sock, client, server)
        self.host = client[0] if isinstance(client, tuple) else str(client)
        self.deadline = deadline
        self.reader = _DeadlineReader(sock, deadline)
        # The parser reads through the deadline; TConn.init keeps a parser it is given.
        self.parser = RequestParser(cfg, self.reader, client)
        self.head = bytearray()
        self.expires = 0.0  # while the loop gathers a head: when it gives up
        self.gathering_since = 0.0  # when the loop began waiting for this head
        self.head_gathered = False  # the current request's deadline was set by the loop
        self.socket_closed = False
        self.open_per_client = open_per_client
        self.released = False

    def init(self):
        super().init()
        # Before each request gunicorn puts the socket back in blocking mode, no deadline.
        self.sock.settimeout(self.deadline)

    def wait_for_data(self, timeout: float) -> bool:
        """The worker's loop hands a connection to a thread only once its head has arrived:
        the thread has no first bytes to wait for."""
        return True

    def close(self, graceful: bool = False):
        if not self.released:
            self.released = True
            self.open_per_client[self.host] -= 1
            if self.open_per_client[self.host] <= 0:
                del self.open_per_client[self.host]
        if not self.socket_closed:
            super().close(graceful)


class _BodyErrors:
    """A request body that is malformed on the wire (a bad chunk size, a chunk without its
    CRLF) is the client's error: werkzeug's 400, which the app answers as problem+json."""

    def __init__(self, stream):
        self.stream = stream

    def _client_error(self, read, *args):
        try:
            return read(*args)
        except ParseException as exc:
            raise BadRequest(f"The request body is malformed: {exc}.") from None

    def read(self, *args):
        return self._client_error(self.stream.read, *args)

    def readline(self, *args):
        return self._client_error(self.stream.readline, *args)

    def readlines(self, *args):
        return self._client_error(self.stream.readlines, *args)

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class _GunicornBodies:
    """The app, its body stream's wire errors turned into 400s."""

    def __init__(self, app: Flask):
        self.app = app

    def __call__(self, environ, start_response):
        environ["wsgi.input"] = _BodyErrors(environ["wsgi.input"])
        return self.app(environ, start_response)


class RegistryWorker(ThreadWorker):
    """gunicorn's threaded worker, with a deadline per request and a limit per client address.

    The worker's loop reads each request's head as it arrives, without a thread: a client
    trickling its head holds only a socket. Once the head is complete a thread parses it and
    runs the app. From the request's first byte, head and body have `read_deadline` seconds
    in total: a head still incomplete then is answered 408 and closed by the loop, and a body
    that stops arriving is a 408 from the app. Each write of the answer has that long too.
    One client address holds at most `client_connections` connections open in each worker;
    the next is answered 429 and closed. gunicorn's own errors are problem+json.
    """

    # Set by serve(), in the master, before the workers fork.
    read_deadline = 10.0
    client_connections = 128

    def init_process(self):
        self.log.error_log.addFilter(_StalledConnections())
        self.open_per_client: Counter = Counter()
        self.gathering: dict[RegistryConn, None] = {}
        self.lingering: dict[socket.socket, float] = {}
        super().init_process()

    def accept(self, listener):
        try:
            sock, client = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        host = client[0] if isinstance(client, tuple) else str(client)
        if self.open_per_client[host] >= self.client_connections:
            self._answer_and_close(
                sock,
                429,
                f"This address has {self.client_connections} connections open to this server"
                " already: send requests on those, or close some first.",
            )
            return
        self.open_per_client[host] += 1
        self.nr_conns += 1
        conn = RegistryConn(
            self.cfg,
            sock,
            client,
            listener.getsockname(),
            self.read_deadline,
            self.open_per_client,
        )
        self._gather_head(conn, time.monotonic() + self.read_deadline)

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection has the first bytes of its next request."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._gather_head(conn, time.monotonic() + self.read_deadline)
        self._head_bytes(conn, client)

    def _gather_head(self, conn: RegistryConn, expires: float) -> None:
        conn.sock.setblocking(False)
        conn.head.clear()
        conn.expires = expires
        conn.gathering_since = time.monotonic()
        self.gathering[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._head_bytes, conn))

    def _head_bytes(self, conn: RegistryConn, _sock) -> None:
        try:
            data = conn.sock.recv(HEAD_READ_AHEAD)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._give_up(conn)
            return
        if not conn.head:
            # The request's deadline runs from its first byte.
            conn.expires = conn.reader.deadline = time.monotonic() + self.read_deadline
        searched = max(0, len(conn.head) - 3)
        conn.head += data
        if (
            conn.head.find(b"\r\n\r\n", searched) < 0
            and conn.head.find(b"\n\n", searched) < 0
            and len(conn.head) < HEAD_READ_AHEAD
        ):
            return
        self.poller.unregister(conn.sock)
        del self.gathering[conn]
        conn.parser.unreader.unread(bytes(conn.head))
        conn.head.clear()
        conn.head_gathered = True
        self.enqueue_req(conn)

    def _give_up(self, conn: RegistryConn, answer: tuple[int, str] | None = None) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        self.gathering.pop(conn, None)
        self.nr_conns -= 1
        if answer:
            conn.socket_closed = True  # by the answer's lingering close
            self._answer_and_close(conn.sock, *answer)
        conn.close()

    def _answer_and_close(self, sock, status: int, detail: str) -> None:
        """Answer a connection the loop gives up on, then close it once the client has read
        the answer (or after LINGER seconds), without waiting on the client."""
        try:
            sock.setblocking(False)
            sock.send(_problem_answer(status, detail))
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            util.close(sock)
            return
        self.lingering[sock] = time.monotonic() + LINGER
        self.poller.register(sock, selectors.EVENT_READ, self._drain)

    def _drain(self, sock) -> None:
        try:
            if sock.recv(65536):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._close_lingering(sock)

    def _close_lingering(self, sock) -> None:
        del self.lingering[sock]
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(sock)
        util.close(sock)

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        for sock in [sock for sock, until in self.lingering.items() if until <= now]:
            self._close_lingering(sock)
        for conn in list(self.gathering):
            if conn.head and conn.expires <= now:
                self._give_up(
                    conn,
                    (408, f"The request did not arrive in full within {self.read_deadline:g} s."),
                )
            elif not conn.head and (
                conn.expires <= now
                or (not self.alive and now - conn.gathering_since >= STOPPING_FIRST_BYTES)
            ):
                self._give_up(conn)  # opened and never used: closed without a word

    def handle_error(self, req, client, addr, exc):
        """The errors gunicorn finds before the app (a request line too long, a header too
        large or malformed, an unknown transfer coding), as problem+json rather than its
        HTML page; the client's are one warning line, the server's a logged traceback."""
        started = datetime.now()
        addr = addr or ("", -1)  # a Unix socket's client has no address
        status = _error_status(exc)
        if status == 500:
            self.log.exception(
                "Error handling request %s", redact(getattr(req, "uri", None) or "(no URI read)")
            )
            detail = "The server failed to answer this request."
        else:
            self.log.warning("Invalid request from ip=%s: %s", addr[0], redact(str(exc)))
            detail = redact(str(exc)) or HTTPStatus(status).phrase
            if req is None and isinstance(exc, InvalidHeader | InvalidHeaderName):
                req = getattr(exc, "req", None)  # its request line, for the access log
        answer = _problem_answer(status, detail)
        if req is not None:
            environ = default_environ(req, client, self.cfg)
            environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = addr[0], str(addr[1])
            # The access log line, from a response gunicorn's own way (start_response).
            response = Response(req, client, self.cfg)
            response.start_response(f"{status} {HTTPStatus(status).phrase}", [])
            self.log.access(response, req, environ, datetime.now() - started)
        try:
            util.write_nonblock(client, answer)
        except Exception:
            self.log.debug("Failed to send error message.")

    def handle(self, conn):
        if not conn.head_gathered:
            # A request the client sent right behind the last one, already read ahead.
            conn.reader.deadline = time.monotonic() + self.read_deadline
        conn.head_gathered = False
        keep = super().handle(conn)
        if keep is False:
            # gunicorn would close it in its one event-loop thread, lingering up to 2 s for
            # the client to close first: a few stalled clients would freeze every other
            # connection. Closed here instead, in this request's thread.
            util.close_graceful(conn.sock, timeout=min(2.0, self.read_deadline))
            conn.socket_closed = True
        return keep


# A feed key's token may come as `?token=` (feed readers send no headers): never logged.
_TOKEN_IN_QUERY = re.compile(r"(?i)((?:^|[?&;])token=)[^&;#\s\"']*")


def redact(text: str) -> str:
    """`text` (a request line, a URL) with the value of any `token` query parameter hidden."""
    return _TOKEN_IN_QUERY.sub(r"\1[redacted]", text)


class RedactingLogger(glogging.Logger):
    """gunicorn's logger, whose access log never shows a token passed in the query."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # Every atom a format may name: the request line, the query, the raw URI, headers.
        return {
            name: redact(value) if isinstance(value, str) else value
            for name, value in atoms.items()
        }


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
        return _GunicornBodies(self.app_factory())


def serve(
    *,
    host: str,
    port: int,
    workers: int,
    app_factory: Callable[[], Flask],
    threads: int = 256,
    read_timeout: float = 10.0,
    client_connections: int = 128,
) -> None:
    """Serve until stopped; each worker calls `app_factory` after the fork."""
    RegistryWorker.read_deadline = read_timeout
    RegistryWorker.client_connections = client_connections
    RegistryServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "registry.server.RegistryWorker",
            "threads": threads,
            "preload_app": False,
            "accesslog": "-",
            "logger_class": "registry.server.RedactingLogger",
            "graceful_timeout": 10,
            # The master restarts a worker whose event loop has not checked in for this
            # long; requests run in threads and do not hold the loop.
            "timeout": 60,
        },
        app_factory,
    ).run()
