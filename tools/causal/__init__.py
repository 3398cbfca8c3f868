"""Causal root cause (DoWhy): a causal graph per transformer from physics and topology, a structural simulator with
planted causes, and the tools ``attribute_anomaly``, ``estimate_effect`` and ``explain_change``.

DoWhy is imported only when a tool runs (3-6 s); importing this package loads neither DoWhy nor pandapower.
"""

from gridsage.tools.causal.analysis import (AnomalyAttributionResult, CausalEffectResult, Contribution,
                                            DistributionChangeResult, Refutation, attribute_anomaly, attribute_frame,
                                            change_frame, effect_frame, estimate_effect, explain_change,
                                            graph_refutation)
from gridsage.tools.causal.graph import CausalGraph, CausalNode, feeder_causal_graph, graph_from_edges
from gridsage.tools.causal.simulate import PlantedCause, SimulatedHistory, simulate_feeder_history

__all__ = ["attribute_anomaly", "estimate_effect", "explain_change",
           "attribute_frame", "effect_frame", "change_frame", "graph_refutation",
           "AnomalyAttributionResult", "CausalEffectResult", "DistributionChangeResult", "Contribution", "Refutation",
           "CausalGraph", "CausalNode", "feeder_causal_graph", "graph_from_edges",
           "PlantedCause", "SimulatedHistory", "simulate_feeder_history"]
