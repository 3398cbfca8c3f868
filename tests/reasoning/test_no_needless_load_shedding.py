"""No shipped grid scenario's plan sheds load where moving one unit would do.

For every shipped grid scenario, the deterministic plan is run; before each load-shedding step, an independent
search with plain pandapower (tests/oracle, generator Q limits on) tries every in-service unit other than the slack
at outputs across its whole [min_p_mw, max_p_mw] range, the slack balancing.  A move counts when it leaves no
violation and pushes no unit (the slack included) further beyond its P or Q limits.  If one exists, the shedding
step is a defect (NERC TPL-001-5.1 Table 1 footnote 12: interrupting firm demand is a last resort).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from gridsage.reasoning.playbooks import assess
from gridsage.reasoning.scenario import library, load_scenario
from gridsage.tools.workspace import Workspace
from tests.oracle import actions as oracle

pytestmark = pytest.mark.slow

#: outputs tried per unit, as shares of its range [-]
SHARES = np.linspace(0.0, 1.0, 9)


def _grid_scenarios() -> list[str]:
    names = []
    for name in sorted(library()):
        scenario, _ = load_scenario(name)
        if scenario.grid is not None and scenario.transformer is None and scenario.cyber is None:
            names.append(name)
    return names


def _single_unit_fix(net, band, thermal) -> str | None:
    """Oracle: a unit and an output within its limits that leave no violation, or None."""
    base = copy.deepcopy(net)
    oracle.solve(base)
    was = oracle.unit_excess(base)
    live = net.gen.index[net.gen.in_service & ~net.gen.slack] if "slack" in net.gen else net.gen.index[net.gen.in_service]
    for g in live:
        low = float(net.gen.min_p_mw.get(g, 0.0)) if "min_p_mw" in net.gen else 0.0
        high = float(net.gen.max_p_mw.get(g, np.nan)) if "max_p_mw" in net.gen else np.nan
        if not np.isfinite(high) or high <= low:
            continue
        for share in SHARES:
            p = low + share * (high - low)
            trial = copy.deepcopy(net)
            trial.gen.at[g, "p_mw"] = p
            try:
                oracle.solve(trial)
            except Exception:  # noqa: BLE001 - no solution at this output: not a fix
                continue
            now = oracle.unit_excess(trial)
            if any(v > was.get(k, 0.0) + 0.5 for k, v in now.items()):
                continue
            over = {k for k, v in oracle.loading(trial).items() if v > thermal + 1e-6}
            vm = trial.res_bus.vm_pu
            off = {b for b, v in vm.items() if np.isfinite(v) and not band[0] - 1e-9 <= v <= band[1] + 1e-9}
            if not over and not off:
                return f"gen {g} at {p:.1f} MW"
    return None


@pytest.mark.parametrize("name", _grid_scenarios())
def test_a_plan_sheds_load_only_when_no_single_unit_clears(name):
    scenario, folder = load_scenario(name)
    workspace = Workspace()
    a = assess(scenario, folder, graph=False, workspace=workspace)
    limits = scenario.limits
    band = (limits.vm_min_pu or 0.95, limits.vm_max_pu or 1.05)
    thermal = limits.max_loading_percent or 100.0
    prefix = a.final_grid_id.rsplit("step", 1)[0]  # the plan's grids: <post-event>:step1, :step2, ... (or strict-)
    for step in a.action_plan:
        before = a.grid_id if step.order == 1 else f"{prefix}step{step.order - 1}"
        if step.action["type"] == "load_shed":
            fix = _single_unit_fix(workspace.copy_net(before), band, thermal)
            assert fix is None, f"step {step.order} sheds load ({step.description}) where {fix} clears every violation"
