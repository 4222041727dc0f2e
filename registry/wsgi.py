"""WSGI entry point for servers other than `registry serve`: `gunicorn registry.wsgi:app`."""

from .app import create_app

app = create_app()
