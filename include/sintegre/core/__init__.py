"""Core: settings, logs, redaction, slugs and the contracts every layer shares (the run conf).

Imports nothing else of ``sintegre``.
"""
