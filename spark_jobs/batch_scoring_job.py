"""spark-submit entry point: gold trip_features + the champion model → gold predictions.

    spark-submit --master <url> spark_jobs/batch_scoring_job.py \
        --service green --month 2025-02

(`nyctaxi submit score ...` builds that command from settings.)
"""

import sys

from nyctaxi.jobs import submit_main

if __name__ == "__main__":
    sys.exit(submit_main("score"))
