"""WSGI entry point: ``gunicorn sintegre.receiver.wsgi:app``."""

from sintegre.logs import configure_logging
from sintegre.receiver import create_app

configure_logging()
app = create_app()
