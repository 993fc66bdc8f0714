"""Local stand-in for ONS SINtegre: an HTTPS download proxy, a webhook sender, its buttons.

Used by the integration and end-to-end tests (and by hand through
``python -m sintegre_dev.simulator``) so the pipeline can be exercised without ONS: a server
that serves files behind token URLs (with faults on demand), realistic sample products
(:mod:`sintegre_dev.simulator.samples`) and SINtegre's integration buttons, Enviar, Enviar Tudo,
Reenviar Pendentes and Exibir Detalhes (:mod:`sintegre_dev.simulator.buttons`).
Nothing here imports Airflow.
"""

from sintegre_dev.simulator.buttons import (
    DEFAULT_STATE_PATH,
    Delivery,
    DeliveryState,
    DetailRow,
    details,
    format_details,
    publish_and_send,
    resend_pending,
    send_all,
)
from sintegre_dev.simulator.samples import (
    SAMPLE_PRODUCT_IDS,
    Sample,
    operative_week,
    period_fields,
    sample_products,
)
from sintegre_dev.simulator.sender import (
    CAMEL_CASE_KEYS,
    PASCAL_CASE_KEYS,
    build_notification,
    send_notification,
)
from sintegre_dev.simulator.server import (
    FAULT_KINDS,
    HTML_ERROR_PAGE,
    Publication,
    SimulatorServer,
)
from sintegre_dev.simulator.tokens import DEFAULT_SECRET, TOKEN_LIFETIME_SECONDS, mint_token

__all__ = [
    "CAMEL_CASE_KEYS",
    "DEFAULT_SECRET",
    "DEFAULT_STATE_PATH",
    "FAULT_KINDS",
    "HTML_ERROR_PAGE",
    "PASCAL_CASE_KEYS",
    "SAMPLE_PRODUCT_IDS",
    "TOKEN_LIFETIME_SECONDS",
    "Delivery",
    "DeliveryState",
    "DetailRow",
    "Publication",
    "Sample",
    "SimulatorServer",
    "build_notification",
    "details",
    "format_details",
    "mint_token",
    "operative_week",
    "period_fields",
    "publish_and_send",
    "resend_pending",
    "sample_products",
    "send_all",
    "send_notification",
]
