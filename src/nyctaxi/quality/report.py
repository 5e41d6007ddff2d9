"""Run reports (contract §5): one JSON per stage × service × month, written atomically to gold."""

from __future__ import annotations

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


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


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
    for item in report.get("inputs", []):
        known = f"v{item['version']}" if "version" in item else f"sha256={item.get('sha256') or 'unknown'}"
        lines.append(f"  input             {item.get('uri')}  {known}")
    for item in report.get("outputs", []):
        lines.append(f"  output            {item.get('table')}: {item.get('uri')} (v{item.get('version')})")
    if report["stage"] == "preprocess" and report.get("rows_quarantined") is not None:
        lines.append("  reasons")
        lines += [f"    {code:<30} {report['reasons'].get(code, 0):>10,}" for code in REASON_CODES]
    if report.get("unexpected_columns"):
        lines.append(f"  unexpected columns {', '.join(report['unexpected_columns'])}")
    if report.get("error"):
        lines.append(f"  error             {report['error']}")
    return "\n".join(lines)


def validation_html(service: str, month: Month, summary: dict) -> str:
    """A self-contained HTML page of a validation run: the verdict, then every expectation."""
    rows = "".join(
        f"<tr class='{escape(r['status'])}'><td>{escape(r['table'])}</td><td>{escape(str(r['column']))}</td>"
        f"<td>{escape(r['expectation'])}</td><td>{escape(r['status'])}</td><td>{escape(r['message'])}</td></tr>"
        for r in summary["expectations"]
    )
    facts = "".join(
        f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>"
        for k, v in summary["month"].items()
        if k != "_context"
    )
    verdict = f"{summary['failed']} failed" if summary["failed"] else "all passed"
    title = f"validation {escape(service)} {month}: {verdict}"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>body{{font-family:sans-serif}}td,th{{padding:2px 8px}}"
        ".failed{background:#fdd}.passed{background:#efe}</style></head><body>"
        f"<h1>{title}</h1><p>{len(summary['expectations'])} expectations, run at {utc_now()}</p>"
        f"<h2>Month</h2><table>{facts}</table><h2>Expectations</h2>"
        "<table><tr><th>table</th><th>column</th><th>expectation</th><th>status</th><th>message</th></tr>"
        f"{rows}</table></body></html>\n"
    )
