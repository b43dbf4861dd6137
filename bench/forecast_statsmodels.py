#!/usr/bin/python3
"""forecast_statsmodels.py - statsmodels baselines under bench/forecast's protocol.

Same traces, split and scoring as build/bench/forecast: rolling origins over
the last 30% of rows, horizons 1 and 12, MASE scaled by the in-sample (first
70%) seasonal-naive MAE with a daily season (86400 s / step), 90% intervals.

Refit schedule (stated, so the run finishes in minutes): every model is
fitted ONCE on the first 70%, then run as a filter with those parameters
over the whole series; the forecasts from each origin come from the filtered
state at that origin (no refits).  Models:
  snaive       seasonal naive, daily season; normal interval from in-sample residuals
  holt_winters ExponentialSmoothing(trend add, damped, seasonal add, daily season);
               interval from the ETS(A,Ad,A) variance formula with the in-sample sigma.
               Skipped (reported) when the fit exceeds --hw-timeout seconds.
  arima        SARIMAX order (2,1,2) with K=4 Fourier pairs of the daily season as
               exogenous regressors; forecasts and intervals from the Kalman state.
CPU, two figures:
  us/update   process CPU of fit + filter + all forecasts (vectorised over the
              Kalman / smoothing states), divided by the rows: the cheapest
              possible batch use of statsmodels;
  online_us   CPU per forecast through statsmodels' own online API, as a live
              system would call it: per new sample, results.append(y) then
              forecast(12) (ARIMA), or a re-filter with the fitted constants then
              forecast(12) (Holt-Winters); measured on the first ONLINE_N test
              origins and averaged (stated subset: it is O(n) per call).

Non-causal noise floor (--noise-floor, instead of the models): for each
trace and k in FLOOR_K, the MASE of the leave-one-out centred mean of the k
samples either side of each h=1 target (y[i-k..i+k] without y[i]), over the
same targets and with the same scale.  It sees the future, so it is a
reference for how much of a series is noise, not a competitor.

usage: forecast_statsmodels.py [--traces DIR] [--csv] [--hw-timeout S] [--noise-floor]
                               [TRACE.csv ...]
"""
import argparse
import csv
import math
import os
import signal
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
H = 12
Z90 = 1.6448536269514722
ONLINE_N = 20
FLOOR_K = (1, 2, 3, 12)


class Timeout(Exception):
    pass


def load(path):
    ts, vs = [], []
    with open(path) as f:
        for row in csv.reader(f):
            if not row or row[0].startswith("#"):
                continue
            try:
                v = float(row[1])
            except ValueError:
                continue  # header
            ts.append(row[0])
            vs.append(v)
    t = np.array([time.mktime(time.strptime(x[:19], "%Y-%m-%d %H:%M:%S")) if "-" in x
                  else float(x) for x in ts])
    return t, np.array(vs)


def score(y, split, fc, lo, hi, scale):
    """fc/lo/hi[i, h-1]: forecasts made at origin i for i+h."""
    n = len(y)
    origins = np.arange(split - 1, n - H)
    out = {}
    for h in (1, H):
        f, l, u = fc[origins, h - 1], lo[origins, h - 1], hi[origins, h - 1]
        act = y[origins + h]
        out["mase%d" % h] = np.mean(np.abs(act - f)) / scale
        out["cov%d" % h] = 100.0 * np.mean((act >= l) & (act <= u))
    return out


def noise_floor(y, split, scale, k):
    """MASE of the leave-one-out centred mean of +-k neighbours at the h=1 targets."""
    n = len(y)
    i = np.arange(max(split, k), min(n - H + 1, n - k))  # targets y[t+1], t = split-1..n-H-1
    c = np.concatenate([[0.0], np.cumsum(y)])
    mean = (c[i + k + 1] - c[i - k] - y[i]) / (2 * k)
    return np.mean(np.abs(y[i] - mean)) / scale


def split_and_scale(t, y):
    """Training rows, daily season in steps (1 if it does not fit twice), MASE scale."""
    n, split = len(y), int(0.7 * len(y))
    step = float(np.median(np.diff(t)))
    m = int(round(86400 / step))
    if m < 1 or 2 * m > split:
        m = 1
    return split, m, np.mean(np.abs(y[m:split] - y[:split - m])) or 1.0


def print_floor(files, as_csv):
    print("trace,k,mase_noncausal" if as_csv else "%-28s %4s %8s" % ("trace", "k", "MASE"))
    for path in files:
        t, y = load(path)
        split, m, scale = split_and_scale(t, y)
        for k in FLOOR_K:
            print(("%s,%d,%.4f" if as_csv else "%-28s %4d %8.4f")
                  % (os.path.basename(path), k, noise_floor(y, split, scale, k)))


def snaive(y, split, m):
    n = len(y)
    fc = np.empty((n, H))
    for h in range(1, H + 1):
        idx = np.arange(n) + h - m * int(math.ceil(h / m))
        fc[:, h - 1] = y[np.clip(idx, 0, n - 1)]
    resid = y[m:split] - y[:split - m]
    sd = np.std(resid)
    return fc, fc - Z90 * sd, fc + Z90 * sd


def holt_winters(y, split, m, timeout):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(Timeout()))
    signal.alarm(int(timeout))
    try:
        fit = ExponentialSmoothing(y[:split], trend="add", damped_trend=True, seasonal="add",
                                   seasonal_periods=m).fit()
    finally:
        signal.alarm(0)
    p = fit.params
    a, b, g, phi = p["smoothing_level"], p["smoothing_trend"], p["smoothing_seasonal"], \
        p["damping_trend"]
    l, tr = p["initial_level"], p["initial_trend"]
    s = list(p["initial_seasons"])
    n = len(y)
    lv, tv, sv = np.empty(n), np.empty(n), np.empty((n, m))
    for t in range(n):  # the filter with the fitted constants (statsmodels' recursions)
        season = s[t % m]
        lnew = a * (y[t] - season) + (1 - a) * (l + phi * tr)
        tr = b * (lnew - l) + (1 - b) * phi * tr
        s[t % m] = g * (y[t] - lnew) + (1 - g) * season
        l = lnew
        lv[t], tv[t] = l, tr
        if t >= split - 1:
            sv[t] = s
    fc = np.empty((n, H))
    for h in range(1, H + 1):
        damp = sum(phi ** i for i in range(1, h + 1))
        idx = (np.arange(n) + h) % m
        fc[:, h - 1] = lv + damp * tv + sv[np.arange(n), idx]
    holt_winters.online = lambda: hw_online(y, split, m, p)
    sigma = np.std(fit.resid)
    width = np.empty(H)
    for h in range(1, H + 1):
        c2 = sum((a * (1 + b * sum(phi ** i for i in range(1, j + 1))) +
                  (g if j % m == 0 else 0)) ** 2 for j in range(1, h))
        width[h - 1] = Z90 * sigma * math.sqrt(1 + c2)
    return fc, fc - width, fc + width


def hw_online(y, split, m, p):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    c0 = time.process_time()
    for k in range(ONLINE_N):
        ExponentialSmoothing(y[:split + k + 1], trend="add", damped_trend=True,
                             seasonal="add", seasonal_periods=m).fit(
            smoothing_level=p["smoothing_level"], smoothing_trend=p["smoothing_trend"],
            smoothing_seasonal=p["smoothing_seasonal"], damping_trend=p["damping_trend"],
            optimized=False).forecast(H)
    return (time.process_time() - c0) / ONLINE_N * 1e6


def arima_online(res, y, X, split):
    c0 = time.process_time()
    r = res
    for k in range(ONLINE_N):
        r = r.append(y[split + k:split + k + 1], exog=X[split + k:split + k + 1])
        r.forecast(H, exog=X[split + k + 1:split + k + 1 + H])
    return (time.process_time() - c0) / ONLINE_N * 1e6


def fourier(n, m, k):
    t = np.arange(n)
    cols = []
    for j in range(1, k + 1):
        cols += [np.sin(2 * np.pi * j * t / m), np.cos(2 * np.pi * j * t / m)]
    return np.column_stack(cols)


def arima(y, split, m):
    from statsmodels.tsa.statespace.sarimax import SARIMAX
    n = len(y)
    X = fourier(n, m, 4)
    res = SARIMAX(y[:split], exog=X[:split], order=(2, 1, 2)).fit(disp=False)
    arima.online = lambda: arima_online(res, y, X, split)
    full = res.apply(y, exog=X)  # filter the whole series with the fitted params
    ssm = full.model.ssm
    def mat(name):
        m = np.asarray(ssm[name])
        return m[:, :, 0] if m.ndim == 3 else m
    T, Z = mat("transition"), mat("design")[0]
    R, Q = mat("selection"), mat("state_cov")
    Hv = mat("obs_cov")[0, 0]
    beta = full.params[[i for i, nm in enumerate(full.model.param_names)
                        if nm.startswith("x")]]
    a = full.predicted_state[:, 1:n + 1]      # a_{t+1|t} for origin t
    P = full.predicted_state_cov[:, :, 1:n + 1]
    RQR = R @ Q @ R.T
    fc, var = np.empty((n, H)), np.empty((n, H))
    Tk = np.eye(T.shape[0])
    acc = np.zeros_like(T)
    for h in range(1, H + 1):
        zt = Z @ Tk
        reg = np.zeros(n)
        idx = np.arange(n) + h
        ok = idx < n
        reg[ok] = X[idx[ok]] @ beta
        reg[~ok] = X[-1] @ beta
        fc[:, h - 1] = zt @ a + reg
        var[:, h - 1] = np.einsum("i,ijt,j->t", zt, P, zt) + Z @ acc @ Z + Hv
        acc = T @ acc @ T.T + RQR
        Tk = T @ Tk
    sd = np.sqrt(np.maximum(var, 0))
    return fc, fc - Z90 * sd, fc + Z90 * sd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", default=os.environ.get("PRESAGE_TRACES", "../shared/traces"))
    ap.add_argument("--csv", action="store_true")
    ap.add_argument("--hw-timeout", type=float, default=120)
    ap.add_argument("--noise-floor", action="store_true")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    files = args.files or [os.path.join(args.traces, f) for f in
                           ("nasa_http_jul95_1min.csv", "google2019_avg_cpu_5min.csv")]
    if args.noise_floor:
        print_floor(files, args.csv)
        return
    fmt = "%-28s %-13s %8s %8s %7s %7s %10s %10s"
    print("trace,model,mase_h1,mase_h12,coverage_h1,coverage_h12,cpu_us_per_update,"
          "online_us_per_forecast"
          if args.csv else fmt % ("trace", "model", "MASE h1", "MASE h12", "cov1%", "cov12%",
                                  "us/update", "online_us"))
    for path in files:
        t, y = load(path)
        n = len(y)
        split, m, scale = split_and_scale(t, y)
        name = os.path.basename(path)
        for model in ("snaive", "holt_winters", "arima"):
            c0 = time.process_time()
            try:
                if model == "snaive":
                    fc, lo, hi = snaive(y, split, m)
                elif model == "holt_winters":
                    fc, lo, hi = holt_winters(y, split, m, args.hw_timeout)
                else:
                    fc, lo, hi = arima(y, split, m)
            except Timeout:
                print("%s,%s,,,,,\n" % (name, model) if args.csv else
                      "%-28s %-13s not done: fit exceeded %.0f s (season %d steps)"
                      % (name, model, args.hw_timeout, m), end="" if args.csv else "\n")
                continue
            us = (time.process_time() - c0) / n * 1e6
            fn = {"holt_winters": holt_winters, "arima": arima}.get(model)
            online = fn.online() if fn else float("nan")
            r = score(y, split, fc, lo, hi, scale)
            row = (name, model, r["mase1"], r["mase12"], r["cov1"], r["cov12"], us, online)
            print(("%s,%s,%.4f,%.4f,%.1f,%.1f,%.2f,%.0f" if args.csv else
                   "%-28s %-13s %8.4f %8.4f %7.1f %7.1f %10.2f %10.0f") % row)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
