"""Run reports (contract §5): one JSON per stage × service × month, written atomically to gold."""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, field
from html import escape

from nyctaxi.contract import REASON_CODES
from nyctaxi.lake import Lake, utc_now
from nyctaxi.months import Month


@dataclass
class RunReport:
    stage: str
    service: str
    month: str
    engine: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    inputs: list[dict] = field(default_factory=list)
    rows_in: int | None = None
    rows_out: int | None = None
    rows_quarantined: int | None = None
    reasons: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASON_CODES, 0))
    cast_failures: dict[str, int] = field(default_factory=dict)  # column → values not convertible
    source_sha256: str | None = None  # the bronze file the month was built from
    unexpected_columns: list[str] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)
    status: str = "running"
    error: str | None = None
    summary: dict = field(default_factory=dict)  # stage-specific results (metrics, model version…)

    def finish(self, error: Exception | None = None) -> RunReport:
        self.finished_at = utc_now()
        self.status = "failed" if error else "succeeded"
        self.error = str(error) if error else None
        return self

    def to_dict(self) -> dict:
        return asdict(self)


def save_report(lake: Lake, report: RunReport) -> str:
    """A succeeded run replaces the stage's report of the month; a failed one is written beside
    it (``….failed.json``), so the last succeeded report stays part of the published month."""
    month = Month.parse(report.month)
    uri = lake.report(report.stage, report.service, month, failed=report.status == "failed")
    lake.write_json_atomic(uri, report.to_dict())
    return uri


def load_report(lake: Lake, stage: str, service: str, month: Month) -> dict:
    return lake.read_json(lake.report(stage, service, month))


def latest_report(lake: Lake, stage: str, service: str, month: Month) -> dict | None:
    """The stage's latest run of the month: its last succeeded report, or a failed one after it."""
    found = [
        lake.read_json(uri)
        for uri in (lake.report(stage, service, month), lake.report(stage, service, month, failed=True))
        if lake.exists(uri)
    ]
    return max(found, key=lambda r: r.get("finished_at") or "", default=None)


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def format_training(summary: dict, indent: str = "") -> str:
    """A train run's metrics beside both baselines (and the champion's), and the gate's decision,
    each line after ``indent``."""
    lines = [f"{'':<18}{'RMSE':>8}{'MAE':>8}{'within 5 min':>14}"]
    for who, values in summary["metrics"].items():
        label = f"champion v{values['version']}" if who == "champion" else who.replace("_", " ")
        lines.append(f"{label:<18}{values['rmse']:>8.3f}{values['mae']:>8.3f}{values['within_5_min']:>14.1%}")
    alias = "champion" if summary["champion"] else "challenger"
    lines.append(
        f"{summary['model_name']} version {summary['model_version']}: {alias} ({summary['decision']})"
    )
    return "\n".join(indent + line for line in lines)


def validation_counts(summary: dict) -> str:
    """ "151 of 155 expectations passed, 1 failed, 3 not checked" (the zero counts left out)."""
    checks = summary["expectations"]
    failed = sum(c["status"] == "failed" for c in checks)
    unchecked = sum(c["status"] == "not checked" for c in checks)
    line = f"{len(checks) - failed - unchecked} of {len(checks)} expectations passed"
    return (
        line + (f", {failed} failed" if failed else "") + (f", {unchecked} not checked" if unchecked else "")
    )


def _item(item: dict) -> str:
    """An input or output of a run: a table partition, a file, a model version or a report."""
    if "table" in item:
        return f"{item['table']}: {item.get('uri')} (v{item.get('version')})"
    if "model" in item:
        return f"model {item['model']} version {item.get('version')}"
    if "report" in item:
        return f"{item['report']} report: {item.get('uri')}"
    return f"{item.get('uri')}  sha256={item.get('sha256') or 'unknown'}"


def _stage_summary(report: dict) -> list[str]:
    summary, stage = report.get("summary") or {}, report["stage"]
    if stage == "train" and "metrics" in summary:
        return format_training(summary, indent="  ").splitlines()
    if stage == "validate" and "expectations" in summary:
        failed = [c for c in summary["expectations"] if c["status"] == "failed"]
        lines = [f"  expectations      {validation_counts(summary)}"]
        return lines + [f"  failed            {c['table']}.{c['column']}: {c['message']}" for c in failed]
    if stage == "score" and "model_version" in summary:
        return [f"  model             {summary['model_name']} version {summary['model_version']}"]
    if stage == "monitor" and "drifted_features" in summary:
        drifted = summary["drifted_features"]
        ratio = summary["errors"].get("ratio")
        return [
            f"  reference         {summary['reference']} (model version {summary['model_version']})",
            f"  drifted features  {len(drifted)} ({summary['drifted_share']:.0%}; alert at "
            f"{summary['limits']['drifted_share']:.0%}) {', '.join(drifted)}",
            f"  RMSE ratio        {'-' if ratio is None else f'{ratio:.2f}'} (alert at {summary['limits']['error_ratio']:.2f})",
            f"  verdict           {'ALERT: ' + '; '.join(summary['reasons']) if summary['alert'] else 'no alert'}",
        ]
    return []


def format_report(report: dict) -> str:
    """A human-readable rendering for `nyctaxi report`."""
    lines = [
        f"{report['stage']} {report['service']} {report['month']}: {report['status']}"
        f"  ({report['started_at']} → {report.get('finished_at')})",
        f"  engine            {report['engine']}",
        f"  rows in → out     {_n(report.get('rows_in'))} → {_n(report.get('rows_out'))}",
    ]
    if report["stage"] == "preprocess":
        lines.append(f"  quarantined       {_n(report.get('rows_quarantined'))}")
    lines += [f"  input             {_item(item)}" for item in report.get("inputs", [])]
    lines += [f"  output            {_item(item)}" for item in report.get("outputs", [])]
    if report["stage"] == "preprocess" and report.get("rows_quarantined") is not None:
        total = sum(report["reasons"].values())
        lines.append(
            f"  reasons           a quarantined row can carry several: {total:,} reasons on "
            f"{report['rows_quarantined']:,} rows"
        )
        lines += [f"    {code:<30} {report['reasons'].get(code, 0):>10,}" for code in REASON_CODES]
    lines += _stage_summary(report)
    if report.get("unexpected_columns"):
        lines.append(f"  unexpected columns {', '.join(report['unexpected_columns'])}")
    if report.get("error"):
        lines.append(f"  error             {report['error']}")
    return "\n".join(lines)


_LONG_FLOAT = re.compile(r"-?\d+\.\d{5,}(?:e-?\d+)?")


def readable(text: str) -> str:
    """Floats in a message at four significant digits ("0.07814075202162116" → "0.07814")."""
    return _LONG_FLOAT.sub(lambda m: f"{float(m[0]):.4g}", text)


def fact(name: str, value) -> str:
    """A month-level fact for people: shares in %, ratios with 2 decimals, counts with separators."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if "share" in name:
        return f"{value:+.1%}" if "increase" in name else f"{value:.2%}"
    return f"{value:.2f}" if "ratio" in name else f"{value:.4g}"


_STATUS_ORDER = {"failed": 0, "not checked": 1, "passed": 2}
_VALIDATION_STYLE = (
    "body{font-family:sans-serif;margin:16px 24px}td,th{padding:3px 10px;text-align:left}"
    "table{border-collapse:collapse}tr.failed{background:#fde7e9}tr.not-checked{background:#fff6d6}"
    "tr.passed{background:#eef8ee}td.num{text-align:right}h1 .failed{color:#b00020}"
    "h1 .passed{color:#1b5e20}summary{cursor:pointer;font-weight:bold;margin:12px 0}"
)


def _expectation_rows(results: list[dict], month_facts: dict) -> str:
    def value(r: dict) -> str:
        return fact(r["column"], month_facts.get(r["column"])) if r["table"] == "month" else ""

    return "".join(
        f"<tr class='{escape(r['status'].replace(' ', '-'))}'><td>{escape(r['status'])}</td>"
        f"<td>{escape(r['table'])}</td><td>{escape(str(r['column']))}</td><td class='num'>{escape(value(r))}</td>"
        f"<td>{escape(readable(r['expectation']))}</td><td>{escape(readable(r['message']))}</td></tr>"
        for r in results
    )


def validation_html(service: str, month: Month, summary: dict) -> str:
    """A self-contained HTML page of a validation run: the verdict, what failed (with the value
    beside the expectation), what could not be checked, the month's facts, then what passed."""
    results = sorted(summary["expectations"], key=lambda r: _STATUS_ORDER.get(r["status"], 0))
    counts = {status: sum(r["status"] == status for r in results) for status in _STATUS_ORDER}
    facts = {k: v for k, v in summary["month"].items() if k != "_context"}
    header = (
        "<table><tr><th>status</th><th>table</th><th>column</th><th>value</th>"
        "<th>expectation</th><th>message</th></tr>"
    )
    shown = [r for r in results if r["status"] != "passed"]
    passed = [r for r in results if r["status"] == "passed"]
    verdict = f"{counts['failed']} failed" if counts["failed"] else "all checked expectations passed"
    css = "failed" if counts["failed"] else "passed"
    title = f"validation {escape(service)} {month}"
    facts_rows = "".join(
        f"<tr><td>{escape(k)}</td><td class='num'>{escape(fact(k, v))}</td></tr>" for k, v in facts.items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{title}: {verdict}</title><style>{_VALIDATION_STYLE}</style></head><body>"
        f"<h1>{title}: <span class='{css}'>{verdict}</span></h1>"
        f"<p id='counts'>{len(results)} expectations: {counts['failed']} failed, "
        f"{counts['not checked']} not checked, {counts['passed']} passed (run at {utc_now()})</p>"
        + (f"<h2>Needs a look</h2>{header}{_expectation_rows(shown, facts)}</table>" if shown else "")
        + f"<h2>Month</h2><table>{facts_rows}</table>"
        f"<details><summary>Passed ({len(passed)})</summary>{header}{_expectation_rows(passed, facts)}"
        "</table></details></body></html>\n"
    )
