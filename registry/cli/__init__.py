"""The `registry` command's groups, one module each; main.py is the entry point."""

from __future__ import annotations

from flask import Flask

from . import audit, backup, check, documents, init, keys, serve, worker

COMMANDS = (
    init.init_command,
    serve.serve_command,
    keys.keys_group,
    check.check_command,
    documents.documents_group,
    audit.audit_group,
    worker.worker_command,
    backup.backup_command,
)


def register_commands(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
