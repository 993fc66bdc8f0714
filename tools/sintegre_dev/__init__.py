"""Development tooling: the SINtegre simulator, ONS file generators, fixtures, devstack, demo.

Also moto's S3 server (:mod:`sintegre_dev.moto_s3`), shared by the tests and the benchmarks.

Never shipped in the production image; nothing in ``sintegre`` imports it.
"""
