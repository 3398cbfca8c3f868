"""Cascading-failure simulation: what follows an N-k outage as protection trips overloaded branches.

The tools: :func:`simulate_cascade` (one cascade), :func:`cascade_risk` (an ensemble of initiators, serially or
on dask.distributed) and :func:`plan_restoration` (the order to bring the lost load back, every step validated).
The quasi-steady-state model (``_model``: relays with IEEE C37.112 curves, UFLS and UVLS, islands rebalanced or
dark) is this package's own helper, with
:func:`cascade_on_net` its pure entry point (a pandapower net in, the run out; no workspace).
"""

from gridsage.tools.cascade._model import CascadeEvent, CascadeOptions, CascadeRun, CascadeStage, cascade_on_net
from gridsage.tools.cascade.restoration import RestorationResult, RestorationView, plan_restoration, restoration_on_net
from gridsage.tools.cascade.risk import (CascadeRiskResult, CascadeRiskView, EnsembleOutcome, cascade_ensemble,
                                         cascade_risk, initiator_sets)
from gridsage.tools.cascade.simulate import CascadeResult, CascadeView, simulate_cascade

__all__ = ["simulate_cascade", "cascade_risk", "plan_restoration", "cascade_on_net", "cascade_ensemble",
           "initiator_sets", "restoration_on_net", "CascadeResult", "CascadeView", "CascadeRiskResult",
           "CascadeRiskView", "EnsembleOutcome", "RestorationResult", "RestorationView", "CascadeOptions",
           "CascadeRun", "CascadeEvent", "CascadeStage"]
