"""Job `ingest`: one month's trip file (from the TLC source, or a given local file) and the zone
lookup into bronze, with manifests. No Spark: it runs in any Python with nyctaxi installed (the
DAG's ingest task runs `python -m nyctaxi.jobs ingest …`)."""

from __future__ import annotations

from dataclasses import dataclass

from nyctaxi.config import Settings
from nyctaxi.ingest.bronze import IngestResult, ingest_local_file, ingest_month, ingest_zone_lookup
from nyctaxi.months import Month


@dataclass(frozen=True)
class Ingested:
    service: str
    month: Month
    trips: IngestResult
    zones: IngestResult

    def lines(self) -> list[str]:
        trips = self.trips
        return [
            f"{self.service} {self.month}: {trips.action} {trips.uri} ({trips.size:,} bytes, "
            f"sha256 {trips.sha256[:12]}…)",
            f"zone lookup: {self.zones.action} {self.zones.uri}",
        ]


def run(settings: Settings, service: str, month: Month, file: str | None = None) -> Ingested:
    trips = (
        ingest_local_file(settings, file, service, month) if file else ingest_month(settings, service, month)
    )
    return Ingested(service, month, trips, ingest_zone_lookup(settings))
