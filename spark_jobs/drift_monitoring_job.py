"""spark-submit entry point: a month vs the reference month through the champion: drift, error, alerts.

    spark-submit --master <url> spark_jobs/drift_monitoring_job.py \
        --service green --reference 2025-01 --current 2025-02

(`nyctaxi submit monitor ...` builds that command from settings.)
"""

import sys

from nyctaxi.jobs import submit_main

if __name__ == "__main__":
    sys.exit(submit_main("monitor"))
