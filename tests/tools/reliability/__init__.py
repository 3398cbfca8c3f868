"""Tests of gridsage.tools.reliability (a package, so that test module names do not clash with other test folders)."""
