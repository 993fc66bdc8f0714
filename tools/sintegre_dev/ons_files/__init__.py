"""Realistic ONS-shaped product files, generated for tests, the simulator and the demo."""
