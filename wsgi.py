"""WSGI entry point for gunicorn and `flask --app wsgi`."""

from crm import create_app

app = create_app()
