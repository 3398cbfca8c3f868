"""State estimation from SCADA and PMU measurements: WLS (pandapower), observability, bad data, a meter simulator.

The tools are :func:`estimate_state` (readings in the telemetry format plus a device-to-element mapping file) and
:func:`simulate_measurements` (a seeded meter set with planted gross errors and missing meters, the tests' oracle).
pandapower, pandas and scipy are imported only when a function runs: importing this package stays cheap.
"""

from gridsage.tools.estimation.measurements import (ESTIMATION_SENSOR_TYPES, MAPPING_COLUMNS, GrossError, MappingResult,
                                                    MeasurementSet, MeterSet, PlantedError, assemble_meters,
                                                    default_std_dev, read_mapping, simulate_measurement_set,
                                                    true_values)
from gridsage.tools.estimation.state import (BranchEstimate, BusEstimate, ChiSquareTest, EstimationCounts,
                                             EstimationView, MissingMeasurement, ObservabilityReport,
                                             SimulatedMeasurementsResult, StateEstimationResult, SuspectMeasurement,
                                             check_observability, estimate_meters, estimate_state,
                                             lnr_detection_threshold, net_from_estimate, simulate_measurements)

__all__ = ["estimate_state", "simulate_measurements",
           "estimate_meters", "check_observability", "lnr_detection_threshold", "net_from_estimate", "simulate_measurement_set",
           "read_mapping", "assemble_meters", "default_std_dev", "true_values",
           "StateEstimationResult", "EstimationView", "SuspectMeasurement", "MissingMeasurement", "ChiSquareTest",
           "EstimationCounts", "BusEstimate", "BranchEstimate", "ObservabilityReport", "SimulatedMeasurementsResult",
           "MeasurementSet", "MeterSet", "MappingResult", "GrossError", "PlantedError",
           "ESTIMATION_SENSOR_TYPES", "MAPPING_COLUMNS"]
