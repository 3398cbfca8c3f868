"""Scoring of cyber detections against labels: per ATT&CK for ICS technique, line level and chain level.

:func:`score_by_technique` compares a predicted technique id per log line with the true one (e.g. the simulator's
``technique_id`` labels, :mod:`gridsage.tools.cyber.simulate`); :func:`score_chains` says which labelled attack
chains were found at all.  Both use scikit-learn's metrics where they fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridsage.errors import InputError

if TYPE_CHECKING:
    import pandas

__all__ = ["NORMAL", "score_by_technique", "score_chains"]

#: the label of a line that belongs to no attack
NORMAL = "normal"


def _labels(values, name):
    import numpy as np
    import pandas as pd

    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy(dtype=object)
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise InputError(f"{name} must be one label per log line (1-D)", field=name,
                         fix="give a list, array or Series of technique ids and 'normal'.")
    return np.where(pd.isna(arr), NORMAL, arr).astype(str)


def score_by_technique(predicted, truth) -> "pandas.DataFrame":
    """Line-level precision, recall and F1 per technique.

    Parameters
    ----------
    predicted : array-like of str, shape (n,)
        Predicted technique id per log line, ``'normal'`` for none (e.g. ``DetectionReport.record_technique``).
    truth : array-like of str, shape (n,)
        True technique id per log line, ``'normal'`` for none, same order.

    Returns
    -------
    pandas.DataFrame
        Index: technique id (every non-normal id in ``truth`` or ``predicted``, sorted); columns ``precision``,
        ``recall``, ``f1`` [-], ``support`` (true lines) [-] and ``predicted`` (predicted lines) [-].  Precision of
        a technique never predicted is NaN (0/0), recall of one never true is NaN.

    Raises
    ------
    InputError
        If the two differ in length or are not 1-D.

    Notes
    -----
    For technique k: ``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)``, ``f1 = 2 P R / (P + R)``, with
    TP the lines labelled and predicted k, FP the lines predicted k but labelled otherwise (another technique or
    normal), FN the lines labelled k but predicted otherwise.

    References
    ----------
    .. [1] scikit-learn, ``sklearn.metrics.precision_recall_fscore_support``.
    """
    import numpy as np
    import pandas as pd
    from sklearn.metrics import precision_recall_fscore_support

    p, t = _labels(predicted, "predicted"), _labels(truth, "truth")
    if len(p) != len(t):
        raise InputError(f"predicted has {len(p)} labels, truth {len(t)}", field="predicted",
                         fix="give one predicted and one true label per log line, in the same order.")
    classes = sorted((set(np.unique(p)) | set(np.unique(t))) - {NORMAL})
    if not classes:
        return pd.DataFrame(columns=["precision", "recall", "f1", "support", "predicted"],
                            index=pd.Index([], name="technique_id"))
    prec, rec, f1, support = precision_recall_fscore_support(t, p, labels=classes, zero_division=np.nan)
    predicted_n = np.array([(p == k).sum() for k in classes])
    out = pd.DataFrame({"precision": prec, "recall": rec, "f1": f1, "support": support, "predicted": predicted_n},
                       index=pd.Index(classes, name="technique_id"))
    out.loc[out["support"] == 0, "recall"] = np.nan
    out.loc[out["predicted"] == 0, "precision"] = np.nan
    return out


def score_chains(predicted, truth, chain_id) -> "pandas.DataFrame":
    """Chain-level view: was each labelled attack chain found (at least one of its lines with its technique)?

    Parameters
    ----------
    predicted : array-like of str, shape (n,)
        Predicted technique id per log line.
    truth : array-like of str, shape (n,)
        True technique id per log line.
    chain_id : array-like of str, shape (n,)
        Chain id per log line, '' or NaN for normal lines (e.g. the simulator's ``chain_id``).

    Returns
    -------
    pandas.DataFrame
        One row per chain: ``chain_id``, ``technique_id``, ``lines`` [-], ``lines_found`` (with the right
        technique) [-], ``detected`` (bool).

    Raises
    ------
    InputError
        If the three differ in length.
    """
    import numpy as np
    import pandas as pd

    p, t = _labels(predicted, "predicted"), _labels(truth, "truth")
    c = np.asarray(pd.Series(chain_id, dtype=object).fillna("").astype(str))
    if not len(p) == len(t) == len(c):
        raise InputError("predicted, truth and chain_id differ in length", field="chain_id",
                         fix="give one value per log line, in the same order.")
    m = c != ""
    df = pd.DataFrame({"chain_id": c[m], "technique_id": t[m], "hit": p[m] == t[m]})
    g = df.groupby("chain_id", sort=True)
    out = pd.DataFrame({"technique_id": g["technique_id"].first(), "lines": g.size(), "lines_found": g["hit"].sum()})
    out["detected"] = out["lines_found"] > 0
    return out.reset_index()
