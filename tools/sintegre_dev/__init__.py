"""Development tooling: the SINtegre simulator, ONS file generators, fixtures, devstack, demo.

Never shipped in the production image; nothing in ``sintegre`` imports it.
"""
