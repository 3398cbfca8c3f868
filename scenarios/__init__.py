"""Shipped scenario files (YAML), read with importlib.resources."""
