"""WSGI entry point: ``gunicorn sintegre.receiver.wsgi:app``."""

from sintegre.logs import configure_logging
from sintegre.receiver import create_app
from sintegre.settings import load_settings

configure_logging(fmt=load_settings().log_format)
app = create_app()
