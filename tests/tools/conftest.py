"""Fixtures of the tool tests: a local Open-Meteo server and a private weather cache (see openmeteo_stub.py)."""

from openmeteo_stub import cache_dir, open_meteo  # noqa: F401 (fixtures)
