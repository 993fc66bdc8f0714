"""Intake: the notification, its routing, the durable inbox, the receiver, the forwarder.

Never imports ``sintegre.readers`` nor ``sintegre.lake`` (the status pages' read-only lake
views are the one declared exception, see the import-linter contracts in pyproject.toml).
"""
