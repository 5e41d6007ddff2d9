"""spark-submit entry point: silver → gold `trip_features` + `zone_hourly` (+ report) for one (service, month).

    spark-submit --master <url> --jars <jars/lib/*.jar> spark_jobs/feature_engineering_job.py \
        --service green --month 2025-01

(`nyctaxi submit features ...` builds that command from settings.)
"""

import sys

from nyctaxi.jobs import submit_main

if __name__ == "__main__":
    sys.exit(submit_main("features"))
