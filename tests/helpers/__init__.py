"""Helpers shared by the tests, one job per module; import from the module that holds the name.

- :mod:`helpers.webhook`: credentials, ONS-like proxy URLs, notification payloads, bodies;
- :mod:`helpers.fake_airflow`: a stand-in for Airflow's REST API (the pages' tests);
- :mod:`helpers.pipeline`: publish a file on the simulator, the conf the receiver derives from
  its notification, and the download → parse → land steps run in-process;
- :mod:`helpers.lake`: read a lake back (catalog rows, partition files, listings) and
  :class:`helpers.lake.Lake`, the handle of the ``lake`` fixture over local disk and S3 (moto);
- :mod:`helpers.parsed`: read a product file with its catalogued layout, pick rows and types;
- :mod:`helpers.processes`: free ports, waiting until a server is ready;
- :mod:`helpers.notifications`: waiting until notifications reach a final status;
- :mod:`helpers.postgres`: the PostgreSQL server at 127.0.0.1:5432, and whether it answers;
- :mod:`helpers.browser`: headless Chromium and a server on a real port, for the pages.
"""
