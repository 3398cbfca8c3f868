"""Tests of gridsage.tools.cyber (a package, so that test module names do not clash with tests/tools/telemetry)."""
