"""Tests of gridsage.tools.causal (a package, so that test module names do not clash with tests/tools/cyber)."""
