"""The one error of the notification: a 4xx naming the field at fault."""

from __future__ import annotations


class NotificationError(ValueError):
    """A notification that must be refused.

    Attributes:
        status: The HTTP status to answer (400 unreadable body, 422 invalid field).
        field: The field at fault, when there is one.
    """

    def __init__(self, message: str, *, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
