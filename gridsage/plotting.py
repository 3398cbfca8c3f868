"""What every plot of the command line shares: the output-file check and matplotlib, imported only when drawing."""

from __future__ import annotations

from pathlib import Path

from gridsage.errors import InputError

SUFFIXES = (".png", ".svg", ".pdf")


def pyplot_for(path: str | Path, field: str = "plot"):
    """Check ``path`` and return ``(path, matplotlib.pyplot)`` with the non-interactive Agg backend.

    Raises
    ------
    InputError
        If the suffix is not .png, .svg or .pdf, or matplotlib is not installed.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(f"cannot draw to {path.name!r}", field=field, fix="name a .png, .svg or .pdf file.")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("plots need matplotlib", field=field, fix="pip install 'gridsage[plot]'") from None
    return path, plt
