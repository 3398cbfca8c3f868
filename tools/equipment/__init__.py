"""Equipment health: transformer thermal ageing (IEEE C57.91 cl. 7), dissolved-gas analysis, a health index."""

from gridsage.tools.equipment.dga import DgaResult, dga_assessment
from gridsage.tools.equipment.transformer_health import TransformerHealthResult, transformer_health
from gridsage.tools.equipment.transformer_thermal import (TransformerRating, TransformerThermalResult,
                                                          transformer_thermal)

__all__ = ["transformer_thermal", "dga_assessment", "transformer_health",
           "DgaResult", "TransformerHealthResult", "TransformerRating", "TransformerThermalResult"]
