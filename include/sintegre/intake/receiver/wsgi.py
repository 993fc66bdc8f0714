"""WSGI entry point: ``gunicorn sintegre.intake.receiver.wsgi:app``."""

from sintegre.core.logs import configure_logging
from sintegre.core.settings import load_settings
from sintegre.intake.receiver import create_app

configure_logging(fmt=load_settings().log_format)
app = create_app()
