"""GridSage evaluations: measured quality of retrieval and of recommendations, and the independent answer keys
of the shipped scenarios (:mod:`.answer_keys`, which imports nothing from gridsage)."""
