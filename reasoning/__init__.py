"""GridSage reasoning: scenarios in, a typed, evidence-linked Assessment out."""
