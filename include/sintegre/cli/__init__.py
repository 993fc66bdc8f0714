"""Command-line entry points (``python -m sintegre.cli.<tool>``): thin argument parsing only."""
