import pytest

from nyctaxi.errors import InvalidArgument
from nyctaxi.months import Month, parse_month_range, parse_service, service_month_of_file


def test_month_bounds_cross_the_year():
    december = Month.parse("2024-12")
    assert str(december.next()) == "2025-01"
    assert december.end.isoformat() == "2025-01-01T00:00:00"


@pytest.mark.parametrize("text", ["2025-1", "2025-13", "25-01", "2025/01", "", "2008-12"])
def test_malformed_months_are_refused_with_the_value(text):
    with pytest.raises(InvalidArgument, match=repr(text).strip("'") or "month"):
        Month.parse(text)


def test_month_range_is_inclusive_and_ordered():
    assert [str(m) for m in parse_month_range("2024-11..2025-02")] == [
        "2024-11",
        "2024-12",
        "2025-01",
        "2025-02",
    ]
    with pytest.raises(InvalidArgument, match="ends before it starts"):
        parse_month_range("2025-02..2025-01")


def test_unknown_service_names_the_choices():
    assert parse_service(" Green ") == "green"
    with pytest.raises(InvalidArgument, match="unknown service 'blue': expected one of yellow, green"):
        parse_service("blue")


def test_file_names_carry_service_and_month():
    assert service_month_of_file("yellow_tripdata_2020-04_random1000.csv") == ("yellow", "2020-04")
    assert service_month_of_file("taxi_zone_lookup.csv") is None


def test_bronze_versions_of_a_month_ignore_the_other_months_of_its_year(tmp_path):
    """`_versions/` is the year's folder: February's candidate is not January's input."""
    from nyctaxi.ingest import versions
    from nyctaxi.lake import Lake

    lake = Lake(str(tmp_path / "bronze"), str(tmp_path / "silver"), str(tmp_path / "gold"))
    jan, feb = Month.parse("2025-01"), Month.parse("2025-02")
    for month, sha in ((jan, "a" * 64), (feb, "b" * 64)):
        name = f"green_tripdata_{month}.parquet"
        record = {"file_name": name, "sha256": sha, "size": 1}
        versions.land_candidate(lake, "green", month, lambda uri: lake.write_bytes_atomic(uri, b"x"), record)
    assert versions.preprocess_input(lake, "green", jan).sha256 == "a" * 64
    assert versions.preprocess_input(lake, "green", feb).sha256 == "b" * 64
    assert [v.name for v in versions.versions(lake, "green", jan)] == ["green_tripdata_2025-01.parquet"]
