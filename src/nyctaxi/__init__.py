"""nyctaxi — an MLOps platform on the NYC TLC trip records (bronze → silver → gold on Spark + Delta)."""

__version__ = "0.1.0"
