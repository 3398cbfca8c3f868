"""Scenario library: YAML files shipped with GridSage (read with importlib.resources)."""
