"""The independent grid oracle, now :mod:`gridsage.evals.answer_keys` (plain pandapower, no GridSage code).

Kept as a re-export for its importers; ``python -m tests.oracle.grid_oracle [--check] FILES...`` runs the same CLI as
``python -m gridsage.evals.answer_keys``.
"""

import sys

from gridsage.evals.answer_keys import build, key, main, solve, study  # noqa: F401

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
