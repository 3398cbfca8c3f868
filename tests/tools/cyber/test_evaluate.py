"""Per-technique scoring: line-level precision/recall/F1 against a hand count, and the chain-level view."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gridsage.errors import InputError
from gridsage.tools.cyber.evaluate import score_by_technique, score_chains


def test_scores_match_a_hand_count():
    truth = ["normal"] * 6 + ["T0846"] * 4 + ["T0855"] * 2
    pred = ["normal"] * 5 + ["T0846"] + ["T0846"] * 3 + ["normal"] + ["T0855", "T0846"]
    s = score_by_technique(pred, truth)
    # T0846: predicted on lines 5, 6, 7, 8, 11 -> TP = 3 (lines 6-8), FP = 2 (line 5 normal, line 11 T0855);
    #        labelled on lines 6-9 -> FN = 1 (line 9): P = 3/5, R = 3/4, F1 = 2PR/(P+R) = 0.6667
    assert s.loc["T0846", "precision"] == pytest.approx(3 / 5)
    assert s.loc["T0846", "recall"] == pytest.approx(3 / 4)
    assert s.loc["T0846", "f1"] == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert s.loc["T0846", "support"] == 4 and s.loc["T0846", "predicted"] == 5
    # T0855: predicted once (line 10, right), labelled twice: P = 1, R = 1/2
    assert s.loc["T0855", "precision"] == pytest.approx(1.0)
    assert s.loc["T0855", "recall"] == pytest.approx(0.5)
    assert list(s.index) == ["T0846", "T0855"]


def test_a_technique_never_labelled_has_no_recall_and_never_predicted_no_precision():
    s = score_by_technique(np.array(["T0814", "normal"]), pd.Series(["normal", "T0815"]))
    assert s.loc["T0814", "precision"] == 0.0 and math.isnan(s.loc["T0814", "recall"])
    assert math.isnan(s.loc["T0815", "precision"]) and s.loc["T0815", "recall"] == 0.0


def test_lengths_must_match():
    with pytest.raises(InputError) as err:
        score_by_technique(["normal"], ["normal", "T0846"])
    assert err.value.field == "predicted"


def test_chain_view_counts_lines_found_per_chain():
    truth = ["normal", "T0846", "T0846", "T0855", "T0855", "T0855"]
    chain = ["", "C1-T0846", "C1-T0846", "C2-T0855", "C2-T0855", "C3-T0855"]
    pred = ["normal", "T0846", "normal", "normal", "T0836", "T0855"]
    out = score_chains(pred, truth, chain).set_index("chain_id")
    assert out.loc["C1-T0846", "lines"] == 2 and out.loc["C1-T0846", "lines_found"] == 1
    assert bool(out.loc["C1-T0846", "detected"]) and not bool(out.loc["C2-T0855", "detected"])
    assert bool(out.loc["C3-T0855", "detected"])
