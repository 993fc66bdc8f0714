"""Local stand-in for ONS SINtegre: an HTTPS download proxy and a webhook sender.

Used by the integration and end-to-end tests (and by hand through
``python -m sintegre.simulator``) so the pipeline can be exercised without ONS.
Nothing here imports Airflow.
"""

from sintegre.simulator.sender import build_notification, send_notification
from sintegre.simulator.server import HTML_ERROR_PAGE, Publication, SimulatorServer
from sintegre.simulator.tokens import DEFAULT_SECRET, TOKEN_LIFETIME_SECONDS, mint_token

__all__ = [
    "DEFAULT_SECRET",
    "HTML_ERROR_PAGE",
    "TOKEN_LIFETIME_SECONDS",
    "Publication",
    "SimulatorServer",
    "build_notification",
    "mint_token",
    "send_notification",
]
