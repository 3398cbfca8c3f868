"""Distribution reliability: IEEE 1366 indices (SAIFI, SAIDI, CAIDI, ASAI, MAIFI, CEMI_n) with Major Event Days by the
2.5-beta method, from an outage record; a seeded outage-record simulator with planted storm days; and energy losses
over a load profile (helper module ``losses``).

Importing this package loads neither pandas nor pandapower: they are imported when a tool runs.
"""

from gridsage.tools.reliability.indices import (Breakdown, IndexSet, MajorEventDay, MedAnalysis, MedThreshold,
                                                ReliabilityResult, ReliabilityView, daily_saidi_series,
                                                med_threshold, read_daily_saidi, reliability_frame,
                                                reliability_indices)
from gridsage.tools.reliability.outages import (OutageRecord, RejectedOutage, read_outages,
                                                simulate_outage_record)

__all__ = ["reliability_indices", "reliability_frame", "med_threshold", "daily_saidi_series", "read_daily_saidi",
           "ReliabilityResult", "ReliabilityView", "IndexSet", "Breakdown", "MajorEventDay", "MedAnalysis",
           "MedThreshold", "OutageRecord", "RejectedOutage", "read_outages", "simulate_outage_record",
           "energy_losses", "EnergyLossResult"]

from gridsage.tools.reliability.losses import EnergyLossResult, energy_losses  # noqa: E402  (helper C)
