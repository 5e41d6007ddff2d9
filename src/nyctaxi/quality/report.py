"""Run reports (contract §5): one JSON per stage × service × month, written atomically to gold."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from nyctaxi.lake import Lake, read_json, write_json_atomic
from nyctaxi.months import Month
from nyctaxi.schemas import REASON_CODES


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class RunReport:
    stage: str
    service: str
    month: str
    engine: str
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    inputs: list[dict] = field(default_factory=list)
    rows_in: int | None = None
    rows_out: int | None = None
    rows_quarantined: int | None = None
    reasons: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASON_CODES, 0))
    unexpected_columns: list[str] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)
    status: str = "running"
    error: str | None = None

    def finish(self, error: Exception | None = None) -> RunReport:
        self.finished_at = utc_now()
        self.status = "failed" if error else "succeeded"
        self.error = str(error) if error else None
        return self

    def to_dict(self) -> dict:
        return asdict(self)


def save_report(lake: Lake, report: RunReport) -> str:
    uri = lake.report(report.stage, report.service, Month.parse(report.month))
    write_json_atomic(uri, report.to_dict())
    return uri


def load_report(lake: Lake, stage: str, service: str, month: Month) -> dict:
    return read_json(lake.report(stage, service, month))


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
