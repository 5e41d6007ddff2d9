"""spark-submit entry point: gold trip_features + silver checked against the data expectations (JSON + HTML report).

    spark-submit --master <url> spark_jobs/data_validation_job.py \
        --service green --month 2025-02

(`nyctaxi submit validate ...` builds that command from settings.)
"""

import sys

from nyctaxi.jobs import submit_main

if __name__ == "__main__":
    sys.exit(submit_main("validate"))
