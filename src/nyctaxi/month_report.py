"""One self-contained HTML page per (service, month) (`nyctaxi report --html`, also written by
`nyctaxi pipeline`): what came in and what was kept, why rows were quarantined, when and where
the trips were, the validation verdict, the model against its baselines and the drift verdict.
Built from the stages' JSON reports only (no Spark); charts are inline SVG drawn by matplotlib
and the evaluation figure an inline PNG, so the page needs no network to open."""

from __future__ import annotations

import base64
import io
from html import escape

from matplotlib import rc_context
from matplotlib.figure import Figure

from nyctaxi.contract import REASON_CODES
from nyctaxi.lake import Lake, utc_now
from nyctaxi.months import Month
from nyctaxi.quality.report import fact, latest_report, readable, validation_counts

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TOP_DRIFTED = 10
BLUE, RED, GREY = "#3b6ea5", "#c0392b", "#888888"
STYLE = (
    "body{font-family:sans-serif;margin:20px 32px;color:#222;max-width:1200px}"
    "h1{font-size:26px;margin-bottom:4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}"
    "table{border-collapse:collapse}td,th{padding:3px 12px;text-align:left}td.num{text-align:right}"
    ".charts{display:flex;flex-wrap:wrap;gap:16px}.chart svg{max-width:100%;height:auto}"
    ".alert{color:#b00020;font-weight:bold}.ok{color:#1b5e20;font-weight:bold}.note{color:#555}"
    "tr.failed{background:#fde7e9}tr.not-checked{background:#fff6d6}img{max-width:100%}"
)


def month_report_uri(lake: Lake, service: str, month: Month) -> str:
    return lake.report("month", service, month).removesuffix(".json") + ".html"


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "nyctaxi"}):  # text stays text
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _chart(name: str, figure: Figure, bars: int) -> str:
    return f"<figure class='chart' data-chart='{name}' data-bars='{bars}'>{_svg(figure)}</figure>"


def _hbar(name: str, labels: list[str], values: list[float], title: str, xlabel: str, line=None) -> str:
    figure = Figure(figsize=(6.4, 0.35 * len(labels) + 1.2))
    axes = figure.subplots()
    colours = [RED if line is not None and v >= line else BLUE for v in values]
    axes.barh(labels[::-1], values[::-1], color=colours[::-1])
    if line is not None:
        axes.axvline(line, color=GREY, linestyle="--", linewidth=1, label=f"threshold {line:g}")
        axes.legend(loc="lower right")
    axes.set(title=title, xlabel=xlabel)
    return _chart(name, figure, len(values))


def _vbar(name: str, labels: list[str], values: list[int], title: str, xlabel: str) -> str:
    figure = Figure(figsize=(6.4, 3.2))
    axes = figure.subplots()
    axes.bar(labels, values, color=BLUE)
    axes.set(title=title, xlabel=xlabel, ylabel="trips")
    if len(labels) > 12:
        axes.set_xticks(range(0, len(labels), 3))
    return _chart(name, figure, len(values))


def _n(value) -> str:
    return "-" if value is None else f"{value:,}"


def _key(key: str, value: str) -> str:
    return f"<td class='num' data-key='{key}'>{escape(value)}</td>"


def _missing(stage: str, service: str, month: Month) -> str:
    return (
        f"<p class='note' data-missing='{stage}'>No {stage} report for this month: run "
        f"<code>nyctaxi pipeline --service {escape(service)} --month {month}</code>.</p>"
    )


def _rows_section(pre: dict | None, feat: dict | None, service: str, month: Month) -> str:
    if pre is None:
        return "<h2>Rows</h2>" + _missing("preprocess", service, month)
    html = (
        "<h2>Rows</h2><table><tr><th>bronze rows in</th><th>silver trips</th><th>quarantined</th>"
        "<th>gold trips</th></tr><tr>"
        + _key("rows_in", _n(pre.get("rows_in")))
        + _key("silver", _n(pre.get("rows_out")))
        + _key("quarantined", _n(pre.get("rows_quarantined")))
        + _key("gold", _n(feat.get("rows_out") if feat else None))
        + "</tr></table>"
    )
    reasons = {code: pre["reasons"].get(code, 0) for code in REASON_CODES if pre["reasons"].get(code, 0)}
    if reasons:
        total = sum(reasons.values())
        html += "<h2>Quarantine by reason</h2>" + _hbar(
            "quarantine", list(reasons), list(reasons.values()), "quarantined rows by reason", "rows"
        )
        html += (
            f"<p class='note' data-key='reasons_note'>A quarantined row can carry several reasons: "
            f"{total:,} reasons on {pre['rows_quarantined']:,} rows.</p>"
        )
    return html


def _trips_section(feat: dict | None, service: str, month: Month) -> str:
    profile = (feat or {}).get("summary", {}).get("profile")
    if not profile:
        return "<h2>Trips</h2>" + _missing("features", service, month)
    zones = profile["busiest_zones"]
    labels = [f"{z['zone'] or z['zone_id']} ({z['borough'] or '?'})" for z in zones]
    return (
        "<h2>When and where</h2><div class='charts'>"
        + _vbar(
            "by_hour", [str(h) for h in range(24)], profile["trips_by_hour"], "trips by pickup hour", "hour"
        )
        + _vbar("by_weekday", list(WEEKDAYS), profile["trips_by_weekday"], "trips by weekday", "weekday")
        + _hbar("busiest_zones", labels, [z["trips"] for z in zones], "busiest pickup zones", "trips")
        + "</div>"
    )


def _validation_section(valid: dict | None, service: str, month: Month) -> str:
    if valid is None:
        return "<h2>Validation</h2>" + _missing("validate", service, month)
    summary = valid["summary"]
    facts = {k: v for k, v in summary["month"].items() if k != "_context"}
    shown = [r for r in summary["expectations"] if r["status"] != "passed"]
    shown.sort(key=lambda r: r["status"] != "failed")
    rows = "".join(
        f"<tr class='{r['status'].replace(' ', '-')}'><td>{escape(r['status'])}</td><td>{escape(r['table'])}</td>"
        f"<td>{escape(str(r['column']))}</td>"
        f"<td class='num'>{escape(fact(r['column'], facts.get(r['column'])) if r['table'] == 'month' else '')}</td>"
        f"<td>{escape(readable(r['expectation']))}</td><td>{escape(readable(r['message']))}</td></tr>"
        for r in shown
    )
    css = "alert" if summary["failed"] else "ok"
    return (
        f"<h2>Validation</h2><p class='{css}' data-key='validation'>{escape(validation_counts(summary))}</p>"
        + (
            "<table><tr><th>status</th><th>table</th><th>column</th><th>value</th><th>expectation</th>"
            f"<th>message</th></tr>{rows}</table>"
            if rows
            else ""
        )
    )


def _figure(lake: Lake, report: dict) -> str:
    uri = next((o["uri"] for o in report.get("outputs", []) if o.get("report") == "figure"), None)
    if uri is None or not lake.exists(uri):
        return ""
    fs, path = lake.store.fs(uri)
    with fs.open(path, "rb") as handle:
        data = base64.b64encode(handle.read()).decode()
    return f"<img data-chart='evaluation' alt='evaluation figure' src='data:image/png;base64,{data}'>"


def _model_section(lake: Lake, train: dict | None, score: dict | None, service: str, month: Month) -> str:
    if train is None:
        return (
            "<h2>Model</h2><p class='note' data-missing='train'>No model was trained with this month as "
            f"its evaluation month (it needs gold {month.previous()} to train on).</p>"
        )
    summary = train["summary"]
    rows = "".join(
        f"<tr><td>{escape('champion v' + str(v['version']) if who == 'champion' else who.replace('_', ' '))}</td>"
        f"<td class='num' data-key='rmse_{who}'>{v['rmse']:.3f}</td><td class='num'>{v['mae']:.3f}</td>"
        f"<td class='num'>{v['within_5_min']:.1%}</td></tr>"
        for who, v in summary["metrics"].items()
    )
    alias = "champion" if summary["champion"] else "challenger"
    scored = (
        f"<p data-key='scored'>Scored {score['rows_out']:,} trips with version "
        f"{escape(str(score['summary']['model_version']))}.</p>"
        if score
        else ""
    )
    return (
        "<h2>Model</h2><table><tr><th></th><th>RMSE</th><th>MAE</th><th>within 5 min</th></tr>"
        f"{rows}</table><p data-key='model_version'>{escape(summary['model_name'])} version "
        f"{escape(str(summary['model_version']))}: {alias} ({escape(summary['decision'])})</p>"
        + scored
        + _figure(lake, train)
    )


def _drift_section(monitor: dict | None, service: str, month: Month) -> str:
    if monitor is None:
        return (
            "<h2>Drift</h2><p class='note' data-missing='monitor'>Not monitored: no champion model "
            "for this month yet.</p>"
        )
    summary, limits = monitor["summary"], monitor["summary"]["limits"]
    alert = monitor["status"] == "failed" or summary["alert"]
    ratio = summary["errors"].get("ratio")
    features = [c for c in summary["columns"] if c != "prediction"]
    verdict = (
        f"<p class='{'alert' if alert else 'ok'}' data-key='drift'>{'ALERT' if alert else 'no alert'}: "
        f"{len(summary['drifted_features'])} of {len(features)} features drifted "
        f"({summary['drifted_share']:.0%}; alert at {limits['drifted_share']:.0%}); RMSE ratio "
        f"{'-' if ratio is None else f'{ratio:.2f}'} (alert at {limits['error_ratio']:.2f}); "
        f"vs {escape(summary['reference'])}, model version {escape(str(summary['model_version']))}</p>"
    )
    reasons = "".join(f"<li>{escape(r)}</li>" for r in summary["reasons"])
    top = sorted(summary["columns"].items(), key=lambda kv: -kv[1]["score"])[:TOP_DRIFTED]
    chart = _hbar(
        "drift",
        [name for name, _ in top],
        [result["score"] for _, result in top],
        "largest drift scores",
        "score",
        line=limits["column_threshold"],
    )
    return "<h2>Drift</h2>" + verdict + (f"<ul>{reasons}</ul>" if reasons else "") + chart


def _succeeded(lake: Lake, stage: str, service: str, month: Month) -> dict | None:
    uri = lake.report(stage, service, month)
    return lake.read_json(uri) if lake.exists(uri) else None


def month_html(lake: Lake, service: str, month: Month) -> str:
    # validate and monitor: a failed run (broken expectations, a drift alert) is the month's news
    reports = {
        stage: (latest_report if stage in ("validate", "monitor") else _succeeded)(
            lake, stage, service, month
        )
        for stage in ("preprocess", "features", "validate", "train", "score", "monitor")
    }
    title = f"nyctaxi {service} {month}"
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p class='note'>Built {utc_now()} from the run reports in {escape(lake.gold)}/_reports.</p>"
        + _rows_section(reports["preprocess"], reports["features"], service, month)
        + _trips_section(reports["features"], service, month)
        + _validation_section(reports["validate"], service, month)
        + _model_section(lake, reports["train"], reports["score"], service, month)
        + _drift_section(reports["monitor"], service, month)
        + "</body></html>\n"
    )


def write_month_report(lake: Lake, service: str, month: Month) -> str:
    """Render the month's page into the lake (atomically); returns its URI."""
    uri = month_report_uri(lake, service, month)
    lake.write_bytes_atomic(uri, month_html(lake, service, month).encode())
    return uri
