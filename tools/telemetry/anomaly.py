"""Telemetry anomaly scoring: spikes, level shifts, drift, oscillation, data-quality faults and multivariate breaks.

A telemetry frame is long: one row per reading with the columns :data:`COLUMNS`; a
stream is one ``(device_id, sensor_type)``.  Every detector works on whole numpy arrays
of one stream (no loop over readings); :func:`score_frame` scores a frame at once, and
:class:`StreamingScorer` scores it batch by batch, keeping per stream only the readings
its detectors still need and the CUSUM sums, with the same results (see its docstring).

Robust baseline, in hopping windows of ``block`` readings: each reading is compared with
the median of the previous complete block, and the noise scale is the median, over the
previous ``scale_blocks`` blocks, of each block's MAD x 1.4826.  Hopping rather than
sliding: pandas' sliding median alone costs about 0.3 s per million readings on the
reference machine (2 cores), more than the scoring budget; block medians cost 0.02 s.

Seasonal profile: a stream spanning ``season_min_days`` (3 days; a weekly profile from
``season_min_weeks``, 3 weeks) first has its own daily (or day-of-week) profile removed, so
that a regular cycle, such as a transformer's daily oil-temperature swing, is no anomaly
(batch: fitted on the whole stream, see :func:`score_frame`; streaming: on the days before,
see :class:`StreamingScorer`).  An oscillation must be faster than ``osc_min_hz`` (1/3600 Hz).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gridsage.errors import InputError, from_validation_error
from gridsage.tools.base import ToolResult, tool

#: columns of a telemetry frame (timestamp: tz-aware UTC)
COLUMNS = ("device_id", "sensor_type", "value", "unit", "timestamp", "quality")
AnomalyType = Literal["spike", "step", "drift", "oscillation", "dropout", "flatline", "stale", "multivariate"]
#: anomalies listed in a tool report (the counts cover all)
MAX_REPORTED = 500
_NS = 1_000_000_000
#: readings whose median interval is a stream's expected interval (when none is given)
_INTERVAL_READINGS = 33
_PENDING = 2**63 - 1  # closing index of an event not decided yet
#: default lowest oscillation frequency [Hz]: a period of one hour (see :class:`ScoringOptions`)
OSC_MIN_HZ = 1 / 3600
_DAY_S, _WEEK_S = 86_400, 604_800
#: fewest profile slots per day (a coarser stream, e.g. 12-hourly, gets no profile)
_MIN_SLOTS = 4


class ScoringOptions(BaseModel):
    """Detector settings; windows are in readings of one stream, thresholds in robust standard deviations.

    Notes
    -----
    Where the defaults come from: ``spike_z`` 7 and ``drift_z`` 6.5 were tuned on seed 1 of
    ``benchmarks/anomaly.py`` (real demand and temperature, 0.3 % noise), between the highest
    false alarm (6.35 and 5.7) and the weakest true anomaly (9.4 and 7.4); |z| >= 7 has a
    probability of 3e-12 per reading under Gaussian noise [1]_.  ``cusum_k`` 1 is Page's
    reference value for a shift of 2 sd (k = shift / 2) and ``cusum_h`` 10 puts the
    in-control run length beyond 1e8 readings [2]_.  ``osc_ratio`` 12: the periodogram
    ordinates of white noise are exponential, so the largest of the 29 searched bins of a
    64-reading frame exceeds 12 x their mean with probability 29 e^-12 = 2e-4 per frame
    (the idea of Fisher's g test [3]_), and ``osc_min_frames`` 3 consecutive frames make a
    false alarm negligible.  ``mv_alpha`` 1e-6 is the chi-square tail per reading.

    ``osc_min_hz`` 1/3600 Hz (a period of 1 h): power-system oscillations are electromechanical
    modes of 0.1-2 Hz (local 1-2 Hz, inter-area 0.1-0.7 Hz [4]_) and forced oscillations from
    controls (governors, AGC, converters) of about 0.01 Hz and up [5]_, and hunting controls
    (tap changers, cycling pumps) repeat within minutes to tens of minutes.  The daily cycle
    (1/86,400 = 1.157e-5 Hz), the weekly one (1.653e-6 Hz) and load- or weather-driven swings
    with their harmonics (periods of hours) lie below the floor, so they are never oscillations.
    At 1-min SCADA data the searchable band is 1/3600-1/120 Hz (periods 2-60 min); at 1-h data
    it is empty (the Nyquist frequency, 1/7200 Hz, lies below the floor): a swing seen only at
    hourly sampling is load-driven or aliased and cannot be told apart.  ``osc_min_cycles`` 4: a
    swing must last four of its periods (two cycles per frame at the lowest bin, three frames).

    ``season_min_days`` 3: a median over three days is the fewest that outvotes one abnormal day;
    ``season_min_weeks`` 3 likewise for each day of the week.  ``season_slot_s`` 900 s: at a
    15-min slot, linear interpolation of a daily sine leaves at most (2 pi / 96)^2 / 8 = 5e-4 of
    its amplitude; coarser data uses one slot per reading interval.

    References
    ----------
    .. [1] Leys, C. et al. (2013). Detecting outliers: do not use standard deviation around the
       mean, use absolute deviation around the median. J. Exp. Soc. Psychol. 49(4), 764-766.
    .. [2] Page, E. S. (1954). Continuous inspection schemes. Biometrika 41(1/2), 100-115;
       Montgomery, D. C. (2009). Introduction to Statistical Quality Control, 6th ed., sec. 9.1.
    .. [3] Fisher, R. A. (1929). Tests of significance in harmonic analysis. Proc. R. Soc. Lond. A
       125(796), 54-59.
    .. [4] Kundur, P. (1994). Power System Stability and Control. McGraw-Hill, ch. 12 (small-signal
       stability: local plant modes of 1-2 Hz, inter-area modes of 0.1-0.7 Hz).
    .. [5] NERC (2017). Reliability Guideline: Forced Oscillation Monitoring & Mitigation,
       Introduction (forced oscillations: sources, and frequencies from hundredths of a hertz up).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    block: int = Field(16, ge=4, le=1024, description="Baseline window: median and MAD of the previous block [readings].")
    scale_blocks: int = Field(8, ge=1, le=64, description="Blocks pooled (median of their MADs) into the noise scale [-].")
    min_scale_pct: float = Field(0.01, ge=0, description="Floor of the noise scale [% of |baseline|] (flat or quantised sensors).")
    spike_z: float = Field(7.0, gt=0, description="Robust z a spike must reach [-].")
    spike_floor_z: float = Field(3.0, gt=0, description="Robust z above which a reading joins a spike cluster [-].")
    spike_max_readings: int = Field(8, ge=1, description="Most readings above spike_floor_z in a spike cluster [readings].")
    spike_gap: int = Field(8, ge=1, description="Quiet readings that end a spike cluster [readings].")
    cusum_k: float = Field(1.0, gt=0, description="CUSUM reference value (slack) [robust sd].")
    cusum_h: float = Field(10.0, gt=0, description="CUSUM decision threshold [robust sd].")
    cusum_clip: float = Field(4.0, gt=0, description="Robust z is clipped to +-clip before the CUSUM (Huber) [-].")
    step_window: int = Field(16, ge=4, description="Readings either side of a change point for the shift test [readings].")
    step_shift_z: float = Field(4.0, gt=0, description="Trend-corrected shift a step must reach [robust sd].")
    step_noise_ratio: float = Field(2.5, gt=1, description="Largest MAD after / noise scale of a step (else an oscillation or burst) [-].")
    step_consistency: float = Field(0.8, gt=0.5, le=1, description="Share of readings a step must put on its side of the mid-level, before and after [-].")
    drift_lag_blocks: int = Field(16, ge=2, description="Lag of the trend test: slope over L blocks vs the L blocks before [blocks].")
    drift_z: float = Field(6.5, gt=0, description="Trend-change statistic a drift must reach [-].")
    drift_floor_z: float = Field(2.0, gt=0, description="Trend-change statistic bounding a drift's extent [-].")
    drift_min_blocks: int = Field(2, ge=1, description="Blocks above drift_floor_z a drift needs [blocks].")
    drift_rebound_blocks: int = Field(64, ge=0, description="A drift of the other sign this soon after a drift is that drift ending (its slope returning) [blocks].")
    osc_frame: int = Field(64, ge=16, le=4096, description="FFT frame [readings] (Hann window, 50 % overlap).")
    osc_ratio: float = Field(12.0, gt=1, description="Spectral peak / mean noise power a frame needs [-].")
    osc_min_frames: int = Field(3, ge=1, description="Consecutive frames with the peak within one bin [frames].")
    osc_min_bin: int = Field(2, ge=1, description="Lowest FFT bin searched (bin k is k / (frame x interval) Hz) [-].")
    osc_min_hz: float = Field(OSC_MIN_HZ, ge=0, le=1000, description="Lowest frequency an oscillation may have [Hz]; default 1/3600 Hz (period 1 h): daily, weekly and load-driven swings are slower.")
    osc_min_cycles: float = Field(4.0, ge=1, le=1000, description="Cycles an oscillation must last (its frames' span x frequency) [-].")
    seasonal: bool = Field(True, description="Remove each stream's daily (or weekly) profile before the spike, step, drift and oscillation tests, when it spans season_min_days.")
    season_min_days: float = Field(3.0, ge=2, le=366, description="Span a stream needs for its daily profile (median per time-of-day slot over its days) [d].")
    season_min_weeks: float = Field(3.0, ge=2, le=53, description="Span a stream needs for a weekly profile (per day of week and time of day) [weeks].")
    season_slot_s: float = Field(900.0, ge=1, le=21600, description="Width of a profile slot [s]; at least the stream's interval.")
    interval_s: float | None = Field(None, gt=0, description="Expected interval between readings [s]; default: median of each stream's first 32.")
    gap_factor: float = Field(1.5, gt=1, description="An interval longer than gap_factor x the expected one is a gap [-].")
    dropout_merge: int = Field(16, ge=1, description="Gaps fewer than this many readings apart form one dropout [readings].")
    dropout_min_missing: int = Field(1, ge=1, description="Missing readings a dropout needs [readings].")
    flatline_readings: int = Field(10, ge=2, description="Exactly equal consecutive values that make a flatline [readings].")
    stale_readings: int = Field(3, ge=2, description="Consecutive readings without an advancing timestamp that make a stale stream [readings].")
    multivariate: bool = Field(True, description="Score each device's aligned streams jointly (batch only).")
    mv_alpha: float = Field(1e-6, gt=0, lt=0.1, description="False-alarm probability per reading of the Mahalanobis test [-].")
    mv_min_readings: int = Field(10, ge=1, description="Aligned readings above the threshold a break needs (runs spike_gap apart count as one) [readings].")
    mv_fit_readings: int = Field(20_000, ge=100, le=1_000_000, description="Most aligned readings (evenly spaced) the robust covariance is estimated from [-].")


class Anomaly(BaseModel):
    """One detected anomaly of one device."""

    type: AnomalyType
    device_id: str
    sensors: list[str] = Field(description="Affected sensor types.")
    start: datetime = Field(description="First reading of the anomaly (UTC).")
    end: datetime = Field(description="Last reading of the anomaly (UTC).")
    detected_at: datetime = Field(description="Reading at which the evidence first sufficed (UTC); streaming reports the event once it has ended.")
    score: float = Field(ge=0, le=1, description="Severity: statistic / (statistic + threshold); 0.5 at the threshold [-].")
    confidence: float = Field(ge=0, le=1, description="1 for observed data faults; else (statistic - threshold) / threshold, capped at 1 [-].")
    evidence: dict[str, float | str | dict[str, float]] = Field(description="The statistics that fired and their thresholds.")
    frequency_hz: float | None = Field(default=None, description="Oscillation frequency [Hz].")


@dataclass
class _Stream:
    """A stream's state between batches: readings not yet past every detector's window, and the CUSUM sums on them."""

    device_id: str
    sensor_type: str
    unit: str
    t: Any = field(init=False)  # timestamps [ns]
    x: Any = field(init=False)
    sp: Any = field(init=False)  # upper and lower CUSUM over the readings already scanned
    sm: Any = field(init=False)
    g0: int = 0  # stream index of t[0] (a multiple of the block)
    done: int = 0  # readings of t already scanned
    interval_ns: float | None = None
    recent: list = field(default_factory=list)  # events reported lately, for _suppress
    raw: Any = None  # the readings as measured, when x has a seasonal profile removed (else x is)
    profile: str = ""  # seasonal profile removed from x: '', 'daily' or 'weekly'
    season: Any = None  # streaming: the _Season learning the profile
    sw: Any = None  # streaming: True at readings where the kind of profile removed changed

    def __post_init__(self):
        import numpy as np

        self.t, self.x, self.sp, self.sm = np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0)


@dataclass
class _Event:
    type: str
    start: int  # [ns]
    end: int
    detected: int
    stat: float
    thr: float
    evidence: dict
    frequency_hz: float | None = None


def _sig(v: float, digits: int = 4) -> float:
    """``v`` rounded to ``digits`` significant digits (1.157e-05 stays 1.157e-05, where round(v, 4) gives 0.0)."""
    return float(f"{v:.{digits}g}")


def _runs(flag):
    """Start and end (inclusive) indices of the runs of True."""
    import numpy as np

    padded = np.zeros(len(flag) + 2, bool)
    padded[1:-1] = flag
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return edges[::2], edges[1::2] - 1


def _groups(starts, ends, gap: int):
    """Positions of the first and last member of each group of sorted spans [starts, ends], a group's consecutive
    spans being at most ``gap`` apart (next start - end)."""
    import numpy as np

    brk = np.flatnonzero(starts[1:] - ends[:-1] > gap)
    return np.concatenate(([0], brk + 1)), np.concatenate((brk, [len(starts) - 1]))


def _within(flag, width: int):
    """True where ``flag`` is set at this reading or at one of the ``width`` readings before."""
    import numpy as np

    c = np.cumsum(flag, dtype=np.int64)
    if len(c) > width + 1:
        c[width + 1:] -= c[: len(c) - width - 1].copy()
    return c > 0


def _cusum(y, s0: float):
    """Page's one-sided CUSUM S_t = max(0, S_{t-1} + y_t) from S_0 = s0, in closed form (no loop)."""
    import numpy as np

    c = np.cumsum(y)
    return c - np.minimum(np.minimum.accumulate(c), -s0)


class _Scan:
    """One pass of every univariate detector over a stream's kept readings plus a new batch.

    Readings before index ``n0`` were scanned before; an event is reported by the scan in
    which its closing reading arrives (or at the end of the data when ``final``).
    """

    def __init__(self, st: _Stream, o: ScoringOptions, final: bool):
        import numpy as np
        from numpy.lib.stride_tricks import sliding_window_view

        self.st, self.o, self.final = st, o, final
        t, x = st.t, st.x
        self.t, self.x, self.n0, self.n = t, x, st.done, len(t)
        self.need = self.n  # earliest reading an unfinished event still needs
        n, B, K = self.n, o.block, o.scale_blocks
        nb = n // B
        blocks = x[: nb * B].reshape(nb, B)
        self.med = np.median(blocks, axis=1)
        mad = 1.4826 * B / (B - 0.8) * np.median(np.abs(blocks - self.med[:, None]), axis=1)  # small-sample factor [1]
        sc = np.full(nb + 1, np.nan)
        if nb >= K:
            sc[K:] = np.median(sliding_window_view(mad, K), axis=1)
        base_b = np.concatenate([[np.nan], self.med])
        self.sc_b = np.maximum(sc, o.min_scale_pct / 100 * np.abs(base_b)) + 1e-12
        self.base = np.repeat(base_b, B)[:n]
        self.scale = np.repeat(self.sc_b, B)[:n]
        self.z = (x - self.base) / (self.scale * np.sqrt(1 + np.pi / (2 * B)))  # the baseline's own sd: 1.2533 s / sqrt(B)
        self.z0 = np.where(np.isnan(self.z), 0.0, self.z)  # warm-up readings count as quiet
        self.dt = dt = np.empty(n, np.int64)  # interval before each reading; the first is taken as regular
        dt[0], dt[1:] = st.interval_ns, t[1:] - t[:-1]
        self.stuck = dt <= 0
        self.gap = dt > o.gap_factor * st.interval_ns
        self.gap[1:] &= ~self.stuck[:-1]  # not the jump after a stale run
        raw = x if st.raw is None else st.raw
        self.eq = np.zeros(n, bool)  # equal to the reading before (as measured)
        self.eq[1:] = raw[1:] == raw[:-1]
        idx = np.arange(n)
        flat = idx - np.maximum.accumulate(np.where(self.eq, 0, idx)) >= o.flatline_readings - 1
        # baselines not to be trusted: the block medians and scale after a gap, a stale or a flat run
        self.mask = _within(self.gap | self.stuck, B) | _within(flat, (K + 1) * B)
        self.trend_mask = _within(self.gap | self.stuck | flat, (2 * o.drift_lag_blocks + K + 1) * B)
        if st.sw is not None:  # streaming: the profile removed changed here, so did the readings' level and spread
            self.mask |= _within(st.sw, (K + 1) * B)
            self.trend_mask |= _within(st.sw, (2 * o.drift_lag_blocks + K + 1) * B)
        self.ctx = (K + 1) * B

    # --- helpers -------------------------------------------------------------------------------------------------
    def _close(self, close):
        """Closing indices with undecided ones set to n (final) or beyond; and which to report now."""
        import numpy as np

        late = close > self.n - 1
        close = np.where(late, self.n if self.final else _PENDING, close)
        return close, (close >= self.n0) & (close <= self.n - 1 + self.final)

    def _pending(self, late_starts):
        if len(late_starts):
            self.need = min(self.need, int(late_starts.min()))

    def _ns(self, i) -> int:
        return int(self.t[min(int(i), self.n - 1)])

    # --- detectors -----------------------------------------------------------------------------------------------
    def spikes(self) -> list[_Event]:
        """Clusters of at most ``spike_max_readings`` readings with |z| > spike_floor_z, peaking above spike_z."""
        import numpy as np

        o, z = self.o, self.z
        az = np.abs(self.z0)
        f = np.flatnonzero(az > o.spike_floor_z)
        if not len(f):
            return []
        s, e = _groups(f, f, o.spike_gap)
        first, last, count = f[s], f[e], e - s + 1
        hi, lo = np.maximum.reduceat(z[f], s), np.minimum.reduceat(z[f], s)
        peak = np.where(hi >= -lo, hi, lo)
        close, now = self._close(last + o.spike_gap)
        self._pending(first[close == _PENDING] - self.ctx)
        ok = now & (count <= o.spike_max_readings) & (np.abs(peak) >= o.spike_z) & ~self.mask[first]
        return [_Event("spike", self._ns(a), self._ns(b), self._ns(c), abs(p), o.spike_z,
                       {"robust_z": round(float(p), 2), "threshold": o.spike_z, "readings": int(k),
                        "baseline": float(self.base[a]), "noise_scale": float(self.scale[a])})
                for a, b, c, p, k in zip(first[ok], last[ok], close[ok], peak[ok], count[ok])]

    def steps(self) -> list[_Event]:
        """Two-sided CUSUM alarms on the clipped robust z, kept where a trend-corrected median shift confirms them."""
        from functools import partial

        import numpy as np

        o, st, n0, n, M = self.o, self.st, self.n0, self.n, self.o.step_window
        y = np.clip(self.z0[n0:], -o.cusum_clip, o.cusum_clip)
        sp = np.concatenate([st.sp, _cusum(y - o.cusum_k, st.sp[-1] if n0 else 0.0)])
        sm = np.concatenate([st.sm, _cusum(-y - o.cusum_k, st.sm[-1] if n0 else 0.0)])
        self.sp, self.sm = sp, sm
        idx = np.arange(n)
        zc = np.clip(self.z0, -o.cusum_clip, o.cusum_clip)
        alarms, tcs, signs = [], [], []
        for s, sign in ((sp, 1), (sm, -1)):
            above = s > o.cusum_h
            a = np.flatnonzero(above[1:] & ~above[:-1]) + 1
            # change point: after the last reading that did not add to the sum (Page's last reset, sharpened)
            quiet = np.maximum.accumulate(np.where((s == 0) | (sign * zc <= o.cusum_k), idx, -1))[a]
            alarms.append(a)
            tcs.append(np.maximum(quiet + 1, a - 2 * o.block))
            signs.append(np.full(len(a), sign))
        a, tc, sign = np.concatenate(alarms), np.concatenate(tcs), np.concatenate(signs)
        keep = tc >= M
        a, tc, sign = a[keep], tc[keep], sign[keep]
        close, now = self._close(np.maximum(a, tc + M - 1))
        self._pending(tc[close == _PENDING] - M - self.ctx)
        a, tc, sign, close = a[now], tc[now], sign[now], close[now]
        tc_ok = tc + M <= n
        a, tc, sign, close = a[tc_ok], tc[tc_ok], sign[tc_ok], close[tc_ok]
        if not len(a):
            return []
        w = self.x[tc[:, None] + np.arange(-M, M)]  # M readings before and M after each change point
        h = M // 2
        med = partial(np.median, axis=1)
        pre, post = med(w[:, :M]), med(w[:, M:])
        slope = (med(w[:, h:M]) - med(w[:, :h]) + med(w[:, M + h:]) - med(w[:, M:M + h])) / 2 / h
        excess = post - pre - slope * M
        scale = self.scale[tc]
        noise = 1.4826 * med(np.abs(w[:, M:] - post[:, None]))
        side = sign[:, None] * (w - ((pre + post) / 2)[:, None]) > 0  # readings beyond the midpoint, in the shift's direction
        consistent = np.minimum(side[:, M:].mean(axis=1), 1 - side[:, :M].mean(axis=1))
        shift_z = np.abs(excess) / scale
        ok = ((shift_z >= o.step_shift_z) & (np.sign(excess) == sign) & (noise <= o.step_noise_ratio * scale)
              & (consistent >= o.step_consistency) & ~self.mask[tc])
        cus = np.where(sign > 0, self.sp[close], self.sm[close])
        return [_Event("step", self._ns(c0), self._ns(al), self._ns(cl), float(zz), o.step_shift_z,
                       {"shift": float(p1 - p0), "shift_pct": round(float(100 * (p1 - p0) / abs(p0)), 3) if p0 else 0.0,
                        "shift_z": round(float(zz), 2), "threshold": o.step_shift_z, "cusum": round(float(cu), 2),
                        "cusum_threshold": o.cusum_h})
                for c0, al, cl, p0, p1, zz, cu in zip(tc[ok], a[ok], close[ok], pre[ok], post[ok], shift_z[ok], cus[ok])]

    def drifts(self) -> list[_Event]:
        """Runs of blocks whose second difference of block medians at lag L (slope change x L) is large."""
        import numpy as np

        o, B, L = self.o, self.o.block, self.o.drift_lag_blocks
        lv = self.med
        nb = len(lv)
        if nb <= 2 * L:
            self._pending(np.array([0]))
            return []
        e = lv[2 * L:] - 2 * lv[L:-L] + lv[: -2 * L]
        sd = np.sqrt(6) * 1.2533 / np.sqrt(B) * self.sc_b[2 * L: nb]
        ez = np.full(nb, np.nan)
        ez[2 * L:] = e / sd
        events = []
        for sign in (1, -1):
            signed = np.where(np.isnan(ez), 0.0, sign * ez)
            s, en = _runs(signed > o.drift_floor_z)
            if not len(s):
                continue
            peak = np.maximum.reduceat(signed, s)
            strong = (peak >= o.drift_z) & (en - s + 1 >= o.drift_min_blocks)
            close, now = self._close((en + 2) * B - 1)
            self._pending((s[close == _PENDING] - 2 * L - 1) * B - self.ctx)
            for b0, b1, pk in zip(s[strong & now], en[strong & now], peak[strong & now]):
                if self.trend_mask[b0 * B:(b1 + 1) * B].any():
                    continue
                seg = signed[b0:b1 + 1]
                onset = b0 + int(np.argmax((np.maximum.accumulate(seg) >= o.drift_z)
                                           & (np.arange(len(seg)) + 1 >= o.drift_min_blocks)))
                k = b0 + int(np.argmax(seg))
                change = float(e[k - 2 * L])
                events.append(_Event("drift", self._ns(b0 * B), self._ns((b1 + 1) * B - 1), self._ns((onset + 1) * B - 1),
                                     float(pk), o.drift_z,
                                     {"trend_z": round(float(sign * pk), 2), "threshold": o.drift_z,
                                      "trend_change": change,
                                      "slope_change_per_s": change / (L * B * self.st.interval_ns / _NS)}))
        return events

    def oscillations(self) -> list[_Event]:
        """Runs of Hann-windowed FFT frames whose spectral peak stands ``osc_ratio`` above the noise floor."""
        import numpy as np
        from numpy.lib.stride_tricks import sliding_window_view

        o, N = self.o, self.o.osc_frame
        hop = N // 2
        first = (-self.st.g0) % hop
        frame_s = N * self.st.interval_ns / _NS
        lowest = max(o.osc_min_bin, int(np.ceil(o.osc_min_hz * frame_s - 1e-9)))  # first bin at or above the floor
        if lowest > N // 2 - 1:  # the floor is at or above the highest searchable bin: no oscillation at this resolution
            return []
        if self.n - first < N:
            self._pending(np.array([first]))
            return []
        frames = sliding_window_view(self.x[first:], N)[::hop].astype(np.float32)
        u = (np.arange(N) - (N - 1) / 2).astype(np.float32)
        frames = frames - frames.mean(axis=1, keepdims=True)
        frames -= np.outer(frames @ u / (u @ u), u)  # remove each frame's linear trend
        power = np.abs(np.fft.rfft(frames * np.hanning(N).astype(np.float32), axis=1)) ** 2
        band = power[:, o.osc_min_bin: N // 2]  # the noise floor's bins
        k = np.argmax(power[:, lowest: N // 2], axis=1) + lowest  # the peak's, at or above osc_min_hz
        rows = np.arange(len(power))
        pk, left, right = power[rows, k], power[rows, k - 1], power[rows, k + 1]
        ratio = pk / (np.median(band, axis=1) / np.log(2) + 1e-30)
        flag = (ratio >= o.osc_ratio) & (pk > left) & (pk >= right)
        chained = flag.copy()  # flagged, and the frame before too with its peak within a bin
        chained[0] = False
        chained[1:] &= flag[:-1] & (np.abs(k[1:] - k[:-1]) <= 1)
        s = np.flatnonzero(flag & ~chained)
        ends = flag.copy()
        ends[:-1] &= ~chained[1:]
        en = np.flatnonzero(ends)
        starts = first + s * hop
        close, now = self._close(first + (en + 1) * hop + N - 1)
        long_enough = en - s + 1 >= o.osc_min_frames
        self._pending(starts[close == _PENDING] - hop)
        ok = long_enough & now
        lp = np.log(np.maximum(np.stack([left, pk, right]), 1e-30))
        frac = 0.5 * (lp[0] - lp[2]) / np.where(lp[0] - 2 * lp[1] + lp[2] == 0, -1, lp[0] - 2 * lp[1] + lp[2])
        hz = (k + np.clip(frac, -0.5, 0.5)) / frame_s
        amp = 4 * np.sqrt(pk) / N  # a sine of amplitude A peaks at (A N / 4)^2 under a Hann window
        events = []
        for a, b, cl in zip(s[ok], en[ok], close[ok]):
            f_hz = float(np.median(hz[a:b + 1]))
            cycles = f_hz * ((b - a) * hop + N) * self.st.interval_ns / _NS
            if f_hz < o.osc_min_hz or cycles < o.osc_min_cycles:
                continue
            level = float(np.median(np.abs(self.x[first + a * hop: first + b * hop + N])))
            events.append(_Event("oscillation", self._ns(first + a * hop), self._ns(first + b * hop + N - 1),
                                 self._ns(first + (a + o.osc_min_frames - 1) * hop + N - 1),
                                 float(ratio[a:b + 1].max()), o.osc_ratio,
                                 {"power_ratio": round(float(ratio[a:b + 1].max()), 1), "threshold": o.osc_ratio,
                                  "amplitude": round(float(np.median(amp[a:b + 1])), 6),
                                  "amplitude_pct": round(100 * float(np.median(amp[a:b + 1])) / level, 3) if level else 0.0,
                                  "frames": int(b - a + 1), "period_s": _sig(1 / f_hz), "cycles": round(cycles, 1),
                                  "min_frequency_hz": _sig(o.osc_min_hz)}, frequency_hz=_sig(f_hz)))
        return events

    def dropouts(self) -> list[_Event]:
        """Gaps (interval > gap_factor x expected) fewer than ``dropout_merge`` readings apart, as one dropout."""
        import numpy as np

        o = self.o
        g = np.flatnonzero(self.gap[1:]) + 1
        if not len(g):
            return []
        s, e = _groups(g, g, o.dropout_merge - 1)
        missing = np.add.reduceat(np.rint(self.dt[g] / self.st.interval_ns).astype(np.int64) - 1, s)
        longest = np.maximum.reduceat(self.dt[g], s)
        first, last = g[s], g[e]
        close, now = self._close(last + o.dropout_merge)
        self._pending(first[close == _PENDING] - 1)
        ok = now & (missing >= o.dropout_min_missing)
        iv = self.st.interval_ns / _NS
        return [_Event("dropout", self._ns(a - 1), self._ns(b), self._ns(a), float(m), o.dropout_min_missing,
                       {"missing_readings": int(m), "threshold": o.dropout_min_missing, "longest_gap_s": float(lg) / _NS,
                        "expected_interval_s": iv, "gap_factor": o.gap_factor})
                for a, b, m, lg in zip(first[ok], last[ok], missing[ok], longest[ok])]

    def _repeats(self, kind: str, flag, need: int, what: str) -> list[_Event]:
        """Runs of ``flag`` covering at least ``need`` readings."""
        s, e = _runs(flag)  # flag[0] is never set: run [s, e] covers readings s - 1 .. e
        count = e - s + 2  # readings in the run, counting the one before it
        close, now = self._close(e + 1)
        long_enough = count >= need
        self._pending(s[close == _PENDING] - 1)
        ok = long_enough & now
        return [_Event(kind, self._ns(a - 1), self._ns(min(b + 1, self.n - 1) if kind == "stale" else b),
                       self._ns(a + need - 2), float(c), need,
                       {what: int(c), "threshold": need, "value": float((self.x if self.st.raw is None else self.st.raw)[a])})
                for a, b, c in zip(s[ok], e[ok], count[ok])]

    def flatlines(self) -> list[_Event]:
        """At least ``flatline_readings`` exactly equal consecutive values."""
        return self._repeats("flatline", self.eq, self.o.flatline_readings, "repeated_readings")

    def stale(self) -> list[_Event]:
        """At least ``stale_readings`` consecutive readings whose timestamp does not advance."""
        return self._repeats("stale", self.stuck, self.o.stale_readings, "readings")


def _suppress(events: list[_Event], recent: list[_Event], guard_ns: int, rebound_ns: int, step_dedupe_ns: int) -> list[_Event]:
    """Drop what another event explains: a second alarm on the same step; a drift during or within ``guard_ns``
    after a step or an oscillation (the trend test's memory of their block medians), or within ``rebound_ns`` after a
    drift of the other sign (the slope returning when a drift ends).  ``recent`` holds the events reported before."""
    def sign(e):
        return e.evidence["trend_z"] > 0

    kept = list(recent)
    for e in sorted(events, key=lambda e: (e.type == "drift", e.start)):
        if e.type == "step" and any(p.type == "step" and 0 <= e.start - p.start <= step_dedupe_ns for p in kept):
            continue
        if e.type == "drift" and any(
                (p.type in ("step", "oscillation") and e.start <= p.end + guard_ns and e.end >= p.start)
                or (p.type == "drift" and sign(p) != sign(e) and p.start <= e.start <= p.end + rebound_ns) for p in kept):
            continue
        kept.append(e)
    return kept[len(recent):]


_DATA_FAULTS = ("dropout", "flatline", "stale")


def _slots(o: ScoringOptions, interval_ns: float) -> int:
    """Profile slots per day: a day over max(``season_slot_s``, interval); 0 (no profile) if fewer than
    :data:`_MIN_SLOTS`."""
    slots = int(_DAY_S // max(o.season_slot_s, interval_ns / _NS))
    return slots if slots >= _MIN_SLOTS else 0


def _group_medians(key, *columns, ascending: tuple = ()):
    """The distinct values of the non-decreasing integer array ``key`` and, per value, the median of each column
    (columns whose positions are in ``ascending`` are already ascending within each value of ``key``)."""
    import numpy as np

    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    counts = np.diff(np.concatenate((starts, [len(key)])))
    lo, hi = starts + (counts - 1) // 2, starts + counts // 2
    out = []
    for i, v in enumerate(columns):
        if i not in ascending and len(v):  # sorted by key, then value: two plain sorts beat np.lexsort 3x
            rank = np.empty(len(v), np.int64)
            rank[np.argsort(v)] = np.arange(len(v))
            v = v[np.argsort((key - key[0]) * len(v) + rank)]
        out.append((v[lo] + v[hi]) / 2)
    return key[starts], out


def _slot_medians(t, x, slots: int):
    """Per slot occurrence k (the k-th slot since 1970-01-01 UTC, ``slots`` a day; ``t`` [ns] ascending): k, the
    median reading and the median offset of the readings in the slot [s]."""
    sec = t // _NS
    k = sec * slots // _DAY_S
    offset = sec - k * (_DAY_S / slots) + (t % _NS) / _NS
    keys, (values, offsets) = _group_medians(k, x, offset, ascending=(1,))
    return keys, values, offsets


def _fit_profile(keys, values, offsets, slots: int, kind: str):
    """Knots [s in the cycle], values (level removed) and period [s] of a profile from slot medians: per slot of
    the cycle, the median over the cycles of the slot median less the mean of the cycle centred on it."""
    import numpy as np
    import pandas as pd

    period = _WEEK_S if kind == "weekly" else _DAY_S
    per_cycle = slots * period // _DAY_S
    level = (pd.Series(values, index=keys).reindex(np.arange(keys[0], keys[-1] + 1))
             .rolling(per_cycle, center=True, min_periods=per_cycle * 3 // 4).mean().to_numpy()[keys - keys[0]])
    ok = np.isfinite(level)
    if not ok.any():
        level, ok = np.full(len(keys), np.median(values)), np.ones(len(keys), bool)
    idx = keys[ok] % per_cycle
    order = np.argsort(idx, kind="stable")
    ids, (v, f) = _group_medians(idx[order], (values - level)[ok][order], offsets[ok][order])
    return ids * (_DAY_S / slots) + f, v - np.median(v), period


def _kind(span_s: float, o: ScoringOptions) -> str:
    """The profile a stream spanning ``span_s`` [s] gets: '', 'daily' or 'weekly'."""
    if span_s >= o.season_min_weeks * _WEEK_S:
        return "weekly"
    return "daily" if span_s >= o.season_min_days * _DAY_S else ""


def _profile(t, x, o: ScoringOptions, interval_ns: float):
    """A stream's seasonal profile, learned robustly from its own readings, or None if it spans too little.

    Returns ``(kind, knots, values, period)``: kind 'daily' or 'weekly'; per slot of the cycle, the
    median over the cycles of the slot's median reading less the mean of the cycle centred on it
    (see :func:`score_frame`), placed at the median position of the readings in the slot [s in the
    cycle]; period [s].  Slots are ``season_slot_s`` wide (at least the interval), in UTC.
    """
    slots = _slots(o, interval_ns)
    kind = _kind((int(t[-1]) - int(t[0])) / _NS, o)
    if not slots or not kind:
        return None
    return (kind, *_fit_profile(*_slot_medians(t, x, slots), slots, kind))


@dataclass
class _Season:
    """A stream's seasonal profile learned as its readings arrive (streaming): the median reading and offset of each
    slot occurrence that has ended, and the profile fitted on them at the start of each day."""

    first_ns: int | None = None  # the stream's first reading
    last_ns: int | None = None  # and the last one learned from
    slots: int | None = None  # per day; None until the interval is known, 0: no profile at this interval
    t: Any = None  # readings of the open slot (or, before the interval is known, all so far)
    x: Any = None
    keys: Any = None  # ended slot occurrences (at most _SEASON_DAYS days of them)
    values: Any = None
    offsets: Any = None
    day: int = -1  # day (since 1970-01-01) at whose start the profile was last fitted
    kind: str = ""
    fitted: tuple = ()  # knots, values, period


#: days of slot medians a streaming profile keeps
_SEASON_DAYS = 366


def _season_add(se: _Season, t, x, o: ScoringOptions, close: bool = False) -> None:
    """Add readings (ascending, after those before) to the learner; ``close``: the open slot has ended too."""
    import numpy as np

    if se.last_ns is not None:  # readings not after those learned (history overlapping the stream) are left out
        later = t > se.last_ns
        t, x = t[later], x[later]
    se.t = t if se.t is None else np.concatenate([se.t, t])
    se.x = x if se.x is None else np.concatenate([se.x, x])
    if len(se.t):
        se.first_ns = int(se.t[0]) if se.first_ns is None else se.first_ns
        se.last_ns = int(se.t[-1])
    if se.slots is None:
        if len(se.t) < _INTERVAL_READINGS and not close:
            return
        se.slots = _slots(o, _interval_ns(se.t, o)) if len(se.t) else 0
    if not se.slots or not len(se.t):
        se.t = se.x = None
        return
    k = (se.t // _NS) * se.slots // _DAY_S
    n = len(k) if close else int(np.searchsorted(k, k[-1]))  # the last slot may still be open
    if n:
        keys, values, offsets = _slot_medians(se.t[:n], se.x[:n], se.slots)
        if se.keys is not None:
            keys, values, offsets = (np.concatenate(p) for p in ((se.keys, keys), (se.values, values), (se.offsets, offsets)))
        if len(keys):
            keep = keys > keys[-1] - _SEASON_DAYS * se.slots
            se.keys, se.values, se.offsets = keys[keep], values[keep], offsets[keep]
        se.t, se.x = se.t[n:], se.x[n:]


def _season_step(st: _Stream, t, x, o: ScoringOptions):
    """Streaming: a batch of a stream less the profile fitted at the start of each reading's day on the days before
    (as measured until the stream spans ``season_min_days``); also where the kind of profile changed."""
    import itertools

    import numpy as np

    se = st.season
    if se.slots == 0 or not len(t):
        return x, None
    day = t // _NS // _DAY_S
    cuts = np.concatenate(([0], np.flatnonzero(day[1:] != day[:-1]) + 1, [len(t)]))
    out, switch = x.copy(), np.zeros(len(t), bool)
    for a, b in itertools.pairwise(cuts):
        d = int(day[a])
        if d > se.day and se.slots:
            if se.t is not None and len(se.t) and int(se.t[-1]) // _NS // _DAY_S < d:
                _season_add(se, t[:0], x[:0], o, close=True)  # the open slot ended with its day
            kind = _kind(d * _DAY_S - se.first_ns / _NS, o) if se.first_ns is not None and se.keys is not None else ""
            if kind:
                se.fitted = _fit_profile(se.keys, se.values, se.offsets, se.slots, kind)
            switch[a] = kind != se.kind
            se.kind, se.day = kind, d
        if se.kind:
            out[a:b] -= _profile_at(t[a:b], *se.fitted)
        _season_add(se, t[a:b], x[a:b], o)
    return out, switch if switch.any() else None


def _profile_at(t, knots, values, period: int):
    """The profile at times ``t`` [ns]: linear between its knots, around the cycle."""
    import numpy as np

    return np.interp((t // _NS) % period + (t % _NS) / _NS, knots, values, period=period)


@dataclass
class _Series:
    device_id: str
    sensor_type: str
    unit: str
    t: Any  # [ns], ascending
    x: Any


def _options(options: dict) -> ScoringOptions:
    try:
        return ScoringOptions(**options)
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _history(o: ScoringOptions) -> int:
    """Readings every detector needs before a new one."""
    B, ctx = o.block, (o.scale_blocks + 1) * o.block
    return max(ctx + 2 * o.step_window + 2 * B, (2 * o.drift_lag_blocks + o.scale_blocks + 3) * B,
               o.osc_frame * 2, o.flatline_readings, o.stale_readings, o.dropout_merge + 2, _INTERVAL_READINGS)


def _interval_ns(t, o: ScoringOptions) -> float:
    """A stream's expected interval [ns]: ``interval_s``, else the median of its first positive intervals."""
    import numpy as np

    steps = np.diff(t[:_INTERVAL_READINGS])
    steps = steps[steps > 0]
    return o.interval_s * _NS if o.interval_s else float(np.median(steps)) if len(steps) else float(_NS)


def _advance(st: _Stream, t_new, x_new, o: ScoringOptions, final: bool, raw_new=None, switch_new=None):
    """Scan a stream's kept readings plus a new batch; return the events that closed and the robust z of the scanned
    readings (None if the stream is still too short), and keep what later scans need.  ``raw_new``: the batch as
    measured when ``x_new`` has a seasonal profile removed; ``switch_new``: where the kind of profile changed."""
    import numpy as np

    st.t, st.x = np.concatenate([st.t, t_new]), np.concatenate([st.x, x_new])
    old = len(st.x) - len(x_new)
    if raw_new is not None or st.raw is not None:
        st.raw = np.concatenate([st.x[:old] if st.raw is None else st.raw, x_new if raw_new is None else raw_new])
    if switch_new is not None or st.sw is not None:
        st.sw = np.concatenate([np.zeros(old, bool) if st.sw is None else st.sw,
                                np.zeros(len(x_new), bool) if switch_new is None else switch_new])
    if st.interval_ns is None:
        if len(st.t) < _INTERVAL_READINGS and not final:
            return [], None
        st.interval_ns = _interval_ns(st.t, o)
    if len(st.t) < 2:
        return [], None
    scan = _Scan(st, o, final)
    events = (scan.spikes() + scan.steps() + scan.drifts() + scan.oscillations() + scan.dropouts() + scan.flatlines()
              + scan.stale())
    guard = int((2 * o.drift_lag_blocks + 1) * o.block * st.interval_ns)
    rebound = int(o.drift_rebound_blocks * o.block * st.interval_ns)
    events = _suppress(events, st.recent, guard, rebound, int(o.step_window * st.interval_ns))
    if st.profile:
        for e in events:
            if e.type not in _DATA_FAULTS:
                e.evidence["seasonal_profile"] = st.profile
    n, B = len(st.t), o.block
    cut = max(0, min(scan.need, n - _history(o))) // B * B
    t_cut = int(st.t[min(cut, n - 1)])
    st.recent = [e for e in st.recent + events if e.end + max(guard, rebound) >= t_cut]
    st.t, st.x, st.sp, st.sm = st.t[cut:], st.x[cut:], scan.sp[cut:], scan.sm[cut:]
    if st.raw is not None:
        st.raw = st.raw[cut:]
    if st.sw is not None:
        st.sw = st.sw[cut:] if st.sw[cut:].any() else None
    st.g0, st.done = st.g0 + cut, n - cut
    return events, scan.z


def _utc(ns: int) -> datetime:
    from datetime import timedelta, timezone

    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=ns // 1000)


def _anomaly(device_id: str, sensors: list[str], e: _Event) -> Anomaly:
    confidence = 1.0 if e.type in _DATA_FAULTS else min(1.0, max(0.0, (e.stat - e.thr) / e.thr))
    return Anomaly(type=e.type, device_id=device_id, sensors=sensors, start=_utc(e.start), end=_utc(e.end),
                   detected_at=_utc(e.detected), score=round(e.stat / (e.stat + e.thr), 4), confidence=round(confidence, 4),
                   evidence=e.evidence, frequency_hz=e.frequency_hz)


def _split(frame) -> list[_Series]:
    """The frame's streams as sorted numpy arrays (readings with no value are dropped: they count as missing)."""
    import numpy as np
    import pandas as pd

    for col in COLUMNS:
        if col not in frame.columns:
            raise InputError(f"the telemetry has no column '{col}'", field=col,
                             fix=f"give the columns {', '.join(COLUMNS)} (one row per reading).")
    ts = frame["timestamp"]
    try:
        ts = ts.dt.tz_convert("UTC") if isinstance(ts.dtype, pd.DatetimeTZDtype) else pd.to_datetime(ts, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise InputError(f"timestamps cannot be read as times ({type(exc).__name__})", field="timestamp",
                         fix="write ISO 8601 times with an offset, e.g. 2024-05-01T12:00:00Z.") from None
    t = ts.dt.as_unit("ns").array.asi8
    x = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    dev, devs = pd.factorize(frame["device_id"])
    sen, sens = pd.factorize(frame["sensor_type"])
    code = dev.astype(np.int64) * max(len(sens), 1) + sen
    code[np.isnan(x) | (dev < 0) | (sen < 0)] = -1
    order = np.argsort(code, kind="stable") if np.any(np.diff(code) < 0) else np.arange(len(code))
    bounds = np.flatnonzero(np.diff(code[order])) + 1
    units = frame["unit"].to_numpy()
    out = []
    for idx in np.split(order, bounds):
        if not len(idx) or code[idx[0]] < 0:
            continue
        ti = t[idx]
        if np.any(np.diff(ti) < 0):
            idx = idx[np.argsort(ti, kind="stable")]
            ti = t[idx]
        c = code[idx[0]]
        out.append(_Series(str(devs[c // max(len(sens), 1)]), str(sens[c % max(len(sens), 1)]), str(units[idx[0]]),
                           ti, x[idx]))
    return out


def _common(a, b):
    """Timestamps of the sorted array ``a`` that also occur in the sorted array ``b``."""
    import numpy as np

    i = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return a[b[i] == a]


def _ogk(Y):
    """Orthogonalised Gnanadesikan-Kettenring robust location and precision of the rows of Y (columns on a robust scale)."""
    import numpy as np

    def mad(v):
        return 1.4826 * np.median(np.abs(v - np.median(v, axis=0)), axis=0)

    p = Y.shape[1]
    corr = np.eye(p)
    for i in range(p):
        for j in range(i):
            su, sv = mad(Y[:, i] + Y[:, j]) ** 2, mad(Y[:, i] - Y[:, j]) ** 2
            corr[i, j] = corr[j, i] = (su - sv) / (su + sv) if su + sv else 0.0
    _, E = np.linalg.eigh(corr)
    P = Y @ E
    lam = np.maximum(mad(P), 1e-12) ** 2
    return E @ np.median(P, axis=0), (E / lam) @ E.T


def _multivariate(series: list[_Series], zs: list, o: ScoringOptions) -> list[Anomaly]:
    """Robust Mahalanobis distance of each device's robust z vectors at common timestamps."""
    from functools import reduce

    import numpy as np
    from scipy.stats import chi2

    by_device: dict[str, list] = {}
    for s, z in zip(series, zs):
        by_device.setdefault(s.device_id, []).append((s, z))
    out = []
    for device, group in by_device.items():
        if len(group) < 2:
            continue
        common = reduce(_common, [s.t for s, _ in group])
        Z = np.column_stack([z[np.searchsorted(s.t, common)] for s, z in group])
        ok = np.isfinite(Z).all(axis=1)
        common, Z = common[ok], Z[ok]
        if len(common) < 100:
            continue
        names = [s.sensor_type for s, _ in group]
        location, precision = _ogk(Z[:: max(1, len(Z) // o.mv_fit_readings)])
        D = Z - location
        W = np.column_stack([D @ precision[:, j] for j in range(len(names))])  # faster than a matmul with two columns
        d2 = (W * D).sum(axis=1)
        thr, thr1 = float(chi2.isf(o.mv_alpha, len(names))), float(np.sqrt(chi2.isf(o.mv_alpha, 1)))
        s, e = _runs(d2 > thr)
        if len(s):  # runs at most spike_gap readings apart are one
            first, last = _groups(s, e, o.spike_gap + 1)
            s, e = s[first], e[last]
        above = np.cumsum(d2 > thr)
        for a, b in zip(s, e):
            if above[b] - (above[a - 1] if a else 0) < o.mv_min_readings:
                continue
            cond = np.abs(W[a:b + 1]) / np.sqrt(np.diag(precision))  # each stream's z given the others
            peak = cond.max(axis=0)
            stat = float(d2[a:b + 1].max())
            decided = a + int(np.searchsorted(above[a:b + 1] - (above[a - 1] if a else 0), o.mv_min_readings))
            event = _Event("multivariate", int(common[a]), int(common[b]), int(common[decided]),
                           stat, thr, {"mahalanobis_d2": round(stat, 2), "threshold": round(thr, 2),
                                       "conditional_z": {n: round(float(v), 2) for n, v in zip(names, peak)}})
            out.append(_anomaly(device, [n for n, v in zip(names, peak) if v >= thr1] or names, event))
    return out


def score_frame(frame, **options) -> list[Anomaly]:
    """Score a whole telemetry frame: every stream, then every device's streams jointly.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long telemetry with the columns :data:`COLUMNS` (timestamp tz-aware, or ISO 8601 text).
    **options
        Fields of :class:`ScoringOptions` (windows [readings], thresholds [robust sd]).

    Returns
    -------
    list of Anomaly
        Sorted by start.

    Raises
    ------
    InputError
        If a column is missing, timestamps cannot be read, or an option is out of range.

    Notes
    -----
    Per stream, with x_t a reading, m_t the median of the previous block of B = ``block``
    readings, and s_t the median of the previous ``scale_blocks`` blocks' MAD x 1.4826 x
    B / (B - 0.8) (the small-sample factor of [1]_), the robust z is
    z_t = (x_t - m_t) / (s_t sqrt(1 + pi / 2B)), the root counting the baseline's own noise
    (the sd of a median of B is 1.2533 s / sqrt(B) [3]_).

    * spike: a cluster of at most ``spike_max_readings`` readings with |z| > ``spike_floor_z``
      (ended by ``spike_gap`` quiet ones) whose peak |z| >= ``spike_z`` [1]_.
    * step: Page's two-sided CUSUM S_t = max(0, S_{t-1} + clip(z_t) - k) > h [2]_, computed in
      closed form as S_t = C_t - min(-S_0, min_{s<=t} C_s) with C the cumulative sum; the change
      point follows the last reading that did not add to the sum.  A step is confirmed when the
      median of the M = ``step_window`` readings after it, less the median of the M before and
      less the local slope x M, exceeds ``step_shift_z`` s; the readings after it are not
      noisier than ``step_noise_ratio`` s (an oscillation starting); and at least
      ``step_consistency`` of the readings before and of those after lie on their side of the
      mid-level (a median test in the spirit of Mood's [2]_; a slow oscillation fails it).
    * drift: the second difference of block medians at lag L, e_b = m_b - 2 m_{b-L} + m_{b-2L}
      (the slope change between two L-block windows, times L), over its sd under noise,
      sqrt(6) x 1.2533 s / sqrt(B) [3]_; a run of blocks above ``drift_floor_z`` reaching
      ``drift_z`` in ``drift_min_blocks``.
    * oscillation: per frame of ``osc_frame`` readings (50 % overlap, linear trend removed,
      Hann window) the periodogram's highest local peak at or above ``osc_min_hz`` over the mean
      noise power (median of the bins / ln 2, the exponential law of periodogram ordinates [4]_)
      >= ``osc_ratio``, in ``osc_min_frames`` consecutive frames within one bin, lasting
      ``osc_min_cycles`` periods; the frequency is refined by a parabola through the log powers
      of the peak bin and its neighbours, and reported to 4 significant digits with its period.
    * dropout: intervals longer than ``gap_factor`` x the expected one; missing readings =
      round(interval / expected) - 1.  flatline: ``flatline_readings`` exactly equal values.
      stale: ``stale_readings`` readings whose timestamp does not advance.
    * multivariate: per device, the vector of its streams' robust z at common timestamps,
      scored by the squared Mahalanobis distance under the orthogonalised
      Gnanadesikan-Kettenring robust covariance [5]_ against the chi-square quantile at
      1 - ``mv_alpha``, for ``mv_min_readings`` readings.  Streams that move together (a
      current and a voltage on the same switching load) have correlated z; one that stops
      following the others scores high although each stream alone looks normal.  The
      conditional z of each stream given the others names the sensors that broke.

    Seasonal profile (``seasonal``): before the spike, step, drift and oscillation tests, a
    stream spanning at least ``season_min_days`` days has its daily profile removed,
    x'_t = x_t - p(t), and one spanning ``season_min_weeks`` weeks its weekly profile (day of
    week and time of day).  With the cycle cut into S slots of ``season_slot_s`` (at least the
    interval; UTC), v_{c,j} the median reading of slot j in cycle c and a_{c,j} the mean of the
    S slot medians centred on it (the classical decomposition's moving average of one period,
    which takes out the level and slower swings [6]_), p_j = median_c (v_{c,j} - a_{c,j}), less
    its median over j; placed at the median position of slot j's readings and interpolated
    linearly around the cycle.  Being periodic, p cannot absorb a spike, step, drift or
    oscillation; being a median over the cycles it ignores any event spanning fewer than half
    of them.  Flatline and stale tests use the readings as measured.  The weekly profile
    follows a daily swing whose amplitude changes over the week; the daily one cannot (at
    1-min data with such a change, spans of 3 days to 3 weeks show drifts).  A profile in UTC does not follow a clock change: load that follows local time
    shifts by 1 h against it at a daylight-saving change (spikes at the morning ramp for days).
    A stream spanning less than ``season_min_days`` is scored as measured.

    A spike or step starting within a block after a gap or stale reading, or within
    ``scale_blocks`` + 1 blocks after a flatline, is not reported (its baseline is unsound),
    nor a drift within 2L + ``scale_blocks`` + 1 blocks of one.  Nor is a second step
    within M readings of one, a drift during or within 2L + 1 blocks after a step or an
    oscillation (the trend test's memory of them), or a drift of the other sign within
    ``drift_rebound_blocks`` after a drift (its slope returning as it ends).

    ``score`` is statistic / (statistic + threshold) (0.5 at the threshold);
    ``confidence`` is 1 for the observed data faults (dropout, flatline, stale), else
    (statistic - threshold) / threshold capped at 1.

    References
    ----------
    .. [1] Croux, C., Rousseeuw, P. J. (1992). Time-efficient algorithms for two highly robust
       estimators of scale. Computational Statistics 1, 411-428 (small-sample factor);
       Leys, C. et al. (2013). Detecting outliers: do not use standard deviation around the mean,
       use absolute deviation around the median. J. Exp. Soc. Psychol. 49(4), 764-766
       (1.4826 x MAD, thresholds of robust z).
    .. [2] Page, E. S. (1954). Continuous inspection schemes. Biometrika 41(1/2), 100-115;
       Basseville, M., Nikiforov, I. V. (1993). Detection of Abrupt Changes. Prentice Hall, sec. 2.2;
       Mood, A. M. (1954). On the asymptotic efficiency of certain nonparametric two-sample tests.
       Ann. Math. Stat. 25(3), 514-522.
    .. [3] Kenney, J. F., Keeping, E. S. (1962). Mathematics of Statistics, Part 1, 3rd ed., sec. 13.13
       (sd of the median = 1.2533 sd / sqrt(n)).
    .. [4] Welch, P. D. (1967). The use of fast Fourier transform for the estimation of power
       spectra. IEEE Trans. Audio Electroacoust. 15(2), 70-73; Harris, F. J. (1978). On the use of
       windows for harmonic analysis with the DFT. Proc. IEEE 66(1), 51-83.
    .. [5] Maronna, R. A., Zamar, R. H. (2002). Robust estimates of location and dispersion for
       high-dimensional datasets. Technometrics 44(4), 307-317; Gnanadesikan, R., Kettenring,
       J. R. (1972). Robust estimates, residuals, and outlier detection with multiresponse data.
       Biometrics 28(1), 81-124.
    .. [6] Hyndman, R. J., Athanasopoulos, G. (2021). Forecasting: Principles and Practice, 3rd ed.,
       OTexts, sec. 3.4 (classical decomposition: an m-period moving average as the trend-cycle,
       the seasonal index as the average detrended value per season; here the median).
    """
    return _score(_split(frame), _options(options))


def _score(series: list[_Series], o: ScoringOptions) -> list[Anomaly]:
    import numpy as np

    out, zs = [], []
    for s in series:
        st = _Stream(s.device_id, s.sensor_type, s.unit)
        x, raw = s.x, None
        if o.seasonal and len(s.t) >= _INTERVAL_READINGS:
            st.interval_ns = _interval_ns(s.t, o)
            fitted = _profile(s.t, s.x, o, st.interval_ns)
            if fitted is not None:
                st.profile, knots, values, period = fitted
                x, raw = s.x - _profile_at(s.t, knots, values, period), s.x
        events, z = _advance(st, s.t, x, o, final=True, raw_new=raw)
        out += [_anomaly(s.device_id, [s.sensor_type], e) for e in events]
        zs.append(np.full(len(s.t), np.nan) if z is None else z)
    if o.multivariate:
        out += _multivariate(series, zs, o)
    return sorted(out, key=lambda a: (a.start, a.device_id, a.type))


class StreamingScorer:
    """Score telemetry batch by batch with per-stream state.

    Each stream keeps only the readings its detectors still need (a few hundred, more while
    an event is open) and its CUSUM sums, so the memory and the cost of an update do not
    grow with the history.  An event is reported by the update in which it ends (its closing
    reading arrives), and :meth:`flush` closes what is open at the end of the data.

    On the same readings, ``update`` calls followed by ``flush`` report the same spikes,
    steps, dropouts, oscillations, flatlines and stale streams as :func:`score_frame`
    (readings must arrive in time order per stream).  Drifts match too, except that a drift
    already reported is not withdrawn when an oscillation that explains it ends later.  The
    multivariate score is batch only.  Streams spanning ``season_min_days`` or more have their
    seasonal profile learned as they arrive (Notes), so there the two can differ.

    Parameters
    ----------
    history : pandas.DataFrame, optional
        Past readings (:data:`COLUMNS`, before the first update) the seasonal profiles start
        from; they are not scored.
    **options
        Fields of :class:`ScoringOptions`.

    Notes
    -----
    Seasonal profile (``seasonal``): each stream's profile is learned as its readings arrive (the
    median reading of each slot in each day, as in :func:`score_frame`) and, at the start of each
    day, fitted on the days before, up to 366 of them; the readings of that day are scored less it.
    Until a stream (with its ``history``) spans ``season_min_days`` it is scored as measured, so a
    strong daily cycle at minute resolution can show as drifts in its first days; ``history``
    avoids that.  For ``scale_blocks`` + 1 blocks after the profile starts or turns weekly,
    spikes and steps are not reported, nor drifts for 2 x ``drift_lag_blocks`` + ``scale_blocks``
    + 1 blocks (the baseline spans both sides).  Streams spanning ``season_min_days`` or more
    therefore differ from :func:`score_frame`, which fits one profile on the whole stream.
    """

    def __init__(self, history=None, **options):
        self.options = _options(options)
        self._streams: dict[tuple[str, str], _Stream] = {}
        if history is not None and self.options.seasonal:
            for s in _split(history):
                st = self._stream(s)
                _season_add(st.season, s.t, s.x, self.options)

    def _stream(self, s: _Series) -> _Stream:
        st = self._streams.get((s.device_id, s.sensor_type))
        if st is None:
            st = self._streams[(s.device_id, s.sensor_type)] = _Stream(s.device_id, s.sensor_type, s.unit)
            st.season = _Season() if self.options.seasonal else None
        return st

    def update(self, frame) -> list[Anomaly]:
        """Add a batch of readings (a frame with :data:`COLUMNS`); return the anomalies it completes."""
        out = []
        for s in _split(frame):
            st = self._stream(s)
            x, raw, switch = s.x, None, None
            if st.season is not None:
                x, switch = _season_step(st, s.t, s.x, self.options)
                st.profile = st.season.kind
                raw = s.x if st.season.kind or st.raw is not None else None
            out += [_anomaly(s.device_id, [s.sensor_type], e)
                    for e in _advance(st, s.t, x, self.options, final=False, raw_new=raw, switch_new=switch)[0]]
        return sorted(out, key=lambda a: (a.start, a.device_id, a.type))

    def flush(self) -> list[Anomaly]:
        """End every stream: report the anomalies still open, and forget the state."""
        import numpy as np

        out = []
        for st in self._streams.values():
            out += [_anomaly(st.device_id, [st.sensor_type], e)
                    for e in _advance(st, np.empty(0, np.int64), np.empty(0), self.options, final=True)[0]]
        self._streams.clear()
        return sorted(out, key=lambda a: (a.start, a.device_id, a.type))


class AnomalyReport(ToolResult):
    """Anomalies found in a telemetry file."""

    path: str
    readings: int = Field(description="Readings scored (rows with a value).")
    streams: int = Field(description="Streams: distinct (device_id, sensor_type).")
    start: datetime | None = Field(description="First reading (UTC).")
    end: datetime | None = Field(description="Last reading (UTC).")
    counts: dict[str, int] = Field(description="Anomalies found, by type.")
    anomalies: list[Anomaly] = Field(description="The highest-scoring anomalies (at most max_anomalies), by start.")
    truncated: bool = Field(description="True when more anomalies were found than listed.")
    rows_rejected: int = Field(description="Rows ingestion refused (not scored); see ingest_telemetry for each reason.")


@tool
def score_telemetry(
    path: Annotated[str, Field(max_length=4096, description="CSV or JSON Lines telemetry under a data root (GRIDSAGE_DATA_DIRS): device_id, sensor_type, value, unit, timestamp (ISO 8601), quality.")],
    interval_s: Annotated[float | None, Field(gt=0, description="Expected interval between readings [s]; default: each stream's median.")] = None,
    spike_z: Annotated[float, Field(gt=0, description="Robust z a spike must reach [-].")] = 7.0,
    step_shift_z: Annotated[float, Field(gt=0, description="Shift a step must reach [robust sd].")] = 4.0,
    drift_z: Annotated[float, Field(gt=0, description="Trend-change statistic a drift must reach [-].")] = 6.5,
    osc_ratio: Annotated[float, Field(gt=1, description="Spectral peak over the noise floor an oscillation needs [-].")] = 12.0,
    osc_min_hz: Annotated[float, Field(ge=0, le=1000, description="Lowest frequency an oscillation may have [Hz]; default 1/3600 (period 1 h), so daily, weekly and load-driven swings never are.")] = OSC_MIN_HZ,
    seasonal: Annotated[bool, Field(description="Remove each stream's daily or weekly profile (learned from the file) before the spike, step, drift and oscillation tests.")] = True,
    season_min_days: Annotated[float, Field(ge=2, le=366, description="Span a stream needs for its daily profile [d]; a weekly one needs 3 weeks.")] = 3.0,
    multivariate: Annotated[bool, Field(description="Also score each device's streams jointly.")] = True,
    max_anomalies: Annotated[int, Field(ge=1, le=MAX_REPORTED, description="Anomalies listed (the highest scores).")] = 100,
) -> AnomalyReport:
    """Find spikes, steps, drifts, oscillations, dropouts, flatlines, stale streams and cross-sensor breaks in telemetry.

    Parameters
    ----------
    path : str
        Telemetry file, one row per reading, validated by :func:`gridsage.tools.telemetry.ingest.read_telemetry`
        (rejected rows are counted, not scored).
    interval_s : float, optional
        Expected interval between readings [s].
    spike_z, step_shift_z, drift_z, osc_ratio : float
        Detection thresholds (:class:`ScoringOptions`).
    osc_min_hz : float, default 1/3600
        Lowest frequency an oscillation may have [Hz] (:class:`ScoringOptions`).
    seasonal : bool, default True
        Remove each stream's seasonal profile before the spike, step, drift and oscillation tests.
    season_min_days : float, default 3
        Span a stream needs for its daily profile [d] (a weekly profile needs ``season_min_weeks``, 3 weeks).
    multivariate : bool, default True
    max_anomalies : int, default 100

    Returns
    -------
    AnomalyReport
        Counts by type, and the highest-scoring anomalies with their evidence.

    Raises
    ------
    InputError
        If the file is outside the data roots, missing, unreadable, or lacks a column (no message quotes the file).

    References
    ----------
    See :func:`score_frame`.
    """
    from gridsage.tools.telemetry.ingest import read_telemetry

    ingested = read_telemetry(path)
    series = _split(ingested.accepted)
    found = _score(series, ScoringOptions(interval_s=interval_s, spike_z=spike_z, step_shift_z=step_shift_z,
                                          drift_z=drift_z, osc_ratio=osc_ratio, osc_min_hz=osc_min_hz, seasonal=seasonal,
                                          season_min_days=season_min_days, multivariate=multivariate))
    listed = sorted(sorted(found, key=lambda a: -a.score)[:max_anomalies], key=lambda a: a.start)
    counts: dict[str, int] = {}
    for a in found:
        counts[a.type] = counts.get(a.type, 0) + 1
    return AnomalyReport(status="ok", path=str(path), readings=sum(len(s.t) for s in series), streams=len(series),
                         start=_utc(min(int(s.t[0]) for s in series)) if series else None,
                         end=_utc(max(int(s.t[-1]) for s in series)) if series else None,
                         counts=counts, anomalies=listed, truncated=len(found) > len(listed),
                         rows_rejected=len(ingested.rejected))
