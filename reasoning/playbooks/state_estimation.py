"""The state-estimation playbook: the grid study run on the state estimated from measurements, not on assumed injections.

Given a grid scenario with an ``estimation:`` block the playbook

1. loads the grid and applies the scenario's scaling and events (the topology the meters see; for a simulation, the
   true state the meters measure);
2. reads the measurements and their device-to-element mapping, or simulates them from that true state with noise per
   meter class, the planted gross errors and missing meters (:func:`~gridsage.reasoning.study.measurement_files`);
3. estimates the state by weighted least squares (``estimate_state``): observability first, then the chi-square test
   and the normalised residuals, the meter with the largest named and removed, one at a time;
4. runs the grid study (power flow with limits, N-1, a validated plan: :class:`GridStudy`) on the estimated state.

Bad data are reported as sensor faults (``telemetry_events`` with origin ``'sensor'``): a wrong meter is not a grid
event, and no switching is planned for it.  An unobservable set-up is refused with the measurements missing named; the
study then runs on the model's assumed injections, at low confidence.

References
----------
.. [1] A. Abur and A. G. Expósito, "Power System State Estimation: Theory and Implementation", Marcel Dekker, 2004,
   ch. 4 (observability) and ch. 5 (bad data: chi-square test, largest normalised residual).
.. [2] F. C. Schweppe and J. Wildes, "Power system static-state estimation, part I", IEEE Trans. PAS-89(1), 1970.
"""

from __future__ import annotations

from pathlib import Path

from gridsage.reasoning.assessment import Finding, ObservedEvent
from gridsage.reasoning.playbooks.base import Progress
from gridsage.reasoning.playbooks.grid_study import GridStudy, StudyState
from gridsage.reasoning.scenario import Scenario
from gridsage.reasoning.study import measurement_files
from gridsage.tools.grid import DerivedGridResult
from gridsage.tools.workspace import current_workspace

#: suspect meters listed as findings at most (all are in the evidence)
MAX_SUSPECT_FINDINGS = 10
#: the standards-corpus entry on WLS state estimation and bad data
SE_ENTRY = "wls-state-estimation-bad-data"


def estimated_state(scenario: Scenario, post_grid: DerivedGridResult, base_dir: Path | None = None):
    """Estimate the state of the scenario's study grid from its measurements, saved as ``<grid>:estimated``.

    Parameters
    ----------
    scenario : Scenario
        A grid scenario with an ``estimation:`` block.
    post_grid : DerivedGridResult
        The study grid after the scenario's events (topology; the true state of a simulation).
    base_dir : pathlib.Path, optional
        Folder the scenario's relative paths are resolved against.

    Returns
    -------
    StateEstimationResult
        ``estimate_state``'s result; its ``saved_grid_id`` names the saved grid when the state was estimated.

    Raises
    ------
    InputError
        If the measurement files cannot be used (field ``estimation.<name>``).
    """
    from gridsage.errors import InputError
    from gridsage.tools.estimation import estimate_state

    spec = scenario.estimation
    readings, mapping = measurement_files(scenario, current_workspace().get(post_grid.grid_id).net, base_dir)
    options = {k: v for k, v in (("chi2_probability", spec.chi2_probability), ("lnr_threshold", spec.lnr_threshold))
               if v is not None}
    try:
        return estimate_state(post_grid.grid_id, str(readings), str(mapping), at=spec.at,
                              save_as=f"{post_grid.grid_id}:estimated", **options)
    except InputError as exc:
        field = exc.field or ""
        field = field if field.startswith("estimation.") else \
            f"estimation.{'mapping' if 'mapping' in field else 'measurements' if 'measurement' in field else field}"
        raise InputError(exc.message, field=field.rstrip("."), fix=exc.fix) from None


def _meter(m) -> str:
    """A missing measurement as ``'active_power at line11-from'`` (device ids as the simulator writes them)."""
    from gridsage.tools.estimation.measurements import device_id_of

    return f"{m.sensor_type} at {device_id_of(m.element_type, m.element, m.side)}"


def estimate_summary(est) -> str:
    """The estimate in one sentence with its figures (no evidence id)."""
    c, chi2 = est.counts, est.chi_square
    text = (f"State estimated from {c.meters_used} measurement(s) for {c.states} state variable(s) "
            f"(redundancy {c.redundancy:.2f})")
    if chi2 is not None:
        text += f"; chi-square J = {chi2.j:.1f} against {chi2.threshold:.1f} ({chi2.dof} degrees of freedom)"
    removed = [s for s in est.suspects if s.removed]
    if removed:
        text += "; bad data removed: " + ", ".join(f"{s.device_id} {s.sensor_type}" for s in removed)
    return text


def estimated_study_grid(scenario: Scenario, post_grid: DerivedGridResult, base_dir: Path | None = None) -> DerivedGridResult:
    """The grid a study of ``scenario`` runs on: the estimated state, or ``post_grid`` when it could not be estimated
    (its ``changes`` then say why).  What ``load_study`` gives the chat agent.

    Raises
    ------
    InputError
        If the measurement files cannot be used (field ``estimation.<name>``).
    """
    est = estimated_state(scenario, post_grid, base_dir)
    return _study_grid(est, post_grid)


def _study_grid(est, post_grid: DerivedGridResult) -> DerivedGridResult:
    if est.saved_grid_id:
        return DerivedGridResult(grid_id=est.saved_grid_id, parent_id=post_grid.grid_id, evidence_id=est.evidence_id,
                                 changes=[*post_grid.changes, f"{estimate_summary(est)} [{est.evidence_id}]"])
    why = (f"unobservable; add {', '.join(_meter(m) for m in est.missing_measurements[:6])}"
           if est.status == "unobservable" else est.status)
    return post_grid.model_copy(update={"changes": [*post_grid.changes, f"State not estimated ({why}) "
                                                    f"[{est.evidence_id}]: the model's assumed injections are studied"]})


class StateEstimation(GridStudy):
    """The grid study on the state estimated from SCADA/PMU measurements (WLS, observability, bad data).

    Handles grid scenarios with an ``estimation:`` block.
    """

    name = "state_estimation"
    steps = GridStudy.steps[:3] + ("state estimation",) + GridStudy.steps[3:]

    def handles(self, scenario: Scenario) -> bool:
        return scenario.grid is not None and scenario.estimation is not None

    def study_state(self, scenario: Scenario, post_grid: DerivedGridResult, base_dir: Path | None,
                    say: Progress) -> StudyState:
        """The estimated state as the study grid, the bad data as sensor faults (see the module docstring)."""
        from gridsage.knowledge.limits import cite

        say("state estimation")
        est = estimated_state(scenario, post_grid, base_dir)
        ev = [est.evidence_id]
        se = [cite(SE_ENTRY, "Bad data is detected by the chi-square test or a normalised residual above its threshold; "
                             "the meter with the largest normalised residual is removed, one at a time.")]
        grid = _study_grid(est, post_grid)
        assumptions = [
            "The estimate is a static snapshot: each meter's latest reading is taken as simultaneous with the others.",
            "Meter errors are independent and Gaussian with their mapping row's standard deviation (the WLS weights).",
            "The topology (breaker states) is the model's after the scenario's events; topology errors are not "
            "estimated.", *est.not_checked]
        if not est.saved_grid_id:
            if est.status == "unobservable":
                buses = ", ".join(f"bus {b}" for b in est.unobservable_buses[:8])
                title = (f"The measurements leave {len(est.unobservable_buses)} bus(es) unobservable ({buses}): the "
                         f"state cannot be estimated there; add meters (" +
                         (", ".join(_meter(m) for m in est.missing_measurements[:6]) or "around them") + ")")
                reason = "the state could not be estimated from the measurements (unobservable)"
            else:
                title, reason = f"State estimation failed ({est.status})", f"the state estimate failed ({est.status})"
            return StudyState(grid=grid, findings=[Finding(severity="high", evidence_ids=ev, citations=se, title=title)],
                              assumptions=assumptions + ["The state was not estimated: the study runs on the model's "
                                                         "assumed injections."],
                              confidence=("low", f"{reason}, so the study uses the model's assumed injections"))
        findings, events = [], []
        for s in est.suspects[:MAX_SUSPECT_FINDINGS]:
            action = "removed from the estimate" if s.removed else "not removed (see the evidence)"
            findings.append(Finding(
                severity="medium", evidence_ids=ev, citations=se, value=round(s.normalised_residual, 1), unit="-",
                title=f"Bad data: {s.device_id} {s.sensor_type} ({s.label}) reads {s.measured:.4g} {s.unit} where the "
                      f"estimate is {s.estimated:.4g} {s.unit}, normalised residual {s.normalised_residual:.1f}; "
                      f"{action}: check the meter, no switching is needed for it"))
            events.append(ObservedEvent(device_id=s.device_id, sensor_type=s.sensor_type, type="bad_data",
                                        origin="sensor", evidence_ids=ev,
                                        reason=f"largest normalised residual of the set, {s.normalised_residual:.1f}"))
        chi2 = est.chi_square
        findings.append(Finding(severity="info", evidence_ids=ev, citations=se, title=estimate_summary(est) + (
            "" if chi2 is None else " - the chi-square test passes" if chi2.passed else
            " - the chi-square test still fails: bad data may remain")))
        confidence = None
        if est.status == "suspect":
            confidence = ("medium", "bad data is detected but no single meter could be identified as its source")
        if est.counts.critical_meters:
            assumptions.append(f"{est.counts.critical_meters} critical measurement(s): an error in one of them cannot "
                               "be detected (no redundancy around it).")
        return StudyState(grid=grid, findings=findings, events=events, assumptions=assumptions, confidence=confidence)
