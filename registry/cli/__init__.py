"""The `registry` command's groups, one module each; main.py is the entry point."""

from __future__ import annotations

from flask import Flask

from . import (
    audit,
    backup,
    bulk,
    check,
    customers,
    docs,
    documents,
    init,
    keys,
    replication,
    retention,
    serve,
    worker,
)

COMMANDS = (
    init.init_command,
    serve.serve_command,
    keys.keys_group,
    check.check_command,
    documents.documents_group,
    bulk.import_command,
    audit.audit_group,
    worker.worker_command,
    backup.backup_command,
    replication.replicate_command,
    replication.restore_command,
    customers.customers_group,
    retention.purge_command,
    docs.docs_group,
)


def register_commands(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
