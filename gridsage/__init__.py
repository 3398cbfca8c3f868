"""GridSage: reasons about an electric grid like a senior grid engineer.

Numbers come from typed tools (:mod:`gridsage.tools`), the reasoning core
turns them into cited assessments (:mod:`gridsage.reasoning`), and thin
adapters expose both: the CLI (:mod:`gridsage.cli`) and the MCP server
(:mod:`gridsage.mcp_server`).  Importing this package loads nothing heavy.
"""

__version__ = "0.1.0"
