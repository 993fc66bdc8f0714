"""The SINtegre notification: parse, validate and normalise one webhook body.

ONS sends seven string keys in lower camelCase; its user guide spells them in PascalCase and
calls the link ``Uri``. Period fields are naive Brasília time, but relays re-serialise them as
UTC (``2025-08-01T03:00:00.000Z`` is 1 August in Brasília): every date is taken in
America/Sao_Paulo, never in UTC.

Modules: ``body`` (strict JSON), ``dates`` (periods, granularity), ``urls`` (the download URL
and the token's claims), ``model`` (:class:`Notification`), ``normalize`` (all of it, in order).
"""

from sintegre.intake.notification.body import parse_body
from sintegre.intake.notification.dates import BRASILIA, granularity_of
from sintegre.intake.notification.errors import NotificationError
from sintegre.intake.notification.model import Notification, notification_id_of
from sintegre.intake.notification.normalize import normalize
from sintegre.intake.notification.urls import check_download_url, check_fetch_target

__all__ = [
    "BRASILIA",
    "Notification",
    "NotificationError",
    "check_download_url",
    "check_fetch_target",
    "granularity_of",
    "normalize",
    "notification_id_of",
    "parse_body",
]
