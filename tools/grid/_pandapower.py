"""Lazy, quiet access to pandapower (imported on first use, ~1.5 s)."""

from __future__ import annotations

import logging
import warnings


def pandapower():
    """Import pandapower with its chatty loggers and warnings silenced.

    pandapower logs numba hints and deprecation notices through ``logging``;
    GridSage reports what matters in its own results, and in MCP stdio mode
    nothing may reach stdout, so its loggers are set to CRITICAL.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandapower as pp
    for name in ("pandapower", "lightsim2grid"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return pp
