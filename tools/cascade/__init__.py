"""Cascading-failure simulation: what follows an N-k outage as protection trips overloaded branches.

The tool lives in :mod:`~gridsage.tools.cascade.simulate`; the quasi-steady-state model (``_model``: relays with
IEEE C37.112 curves, UFLS and UVLS, islands rebalanced or dark) is this package's own helper, with
:func:`cascade_on_net` its pure entry point (a pandapower net in, the run out; no workspace).
"""

from gridsage.tools.cascade._model import CascadeEvent, CascadeOptions, CascadeRun, CascadeStage, cascade_on_net
from gridsage.tools.cascade.simulate import CascadeResult, CascadeView, simulate_cascade

__all__ = ["simulate_cascade", "cascade_on_net", "CascadeResult", "CascadeView", "CascadeOptions", "CascadeRun",
           "CascadeEvent", "CascadeStage"]
