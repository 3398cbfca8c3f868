"""GridSage evaluations: measured quality of retrieval and of recommendations."""
