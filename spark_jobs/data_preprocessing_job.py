"""spark-submit entry point: bronze → silver (+ quarantine, report) for one (service, month).

    spark-submit --master <url> --jars <jars/lib/*.jar> spark_jobs/data_preprocessing_job.py \
        --service green --month 2025-01

(`nyctaxi submit preprocess ...` builds that command from settings.)
"""

import sys

from nyctaxi.jobs import submit_main

if __name__ == "__main__":
    sys.exit(submit_main("preprocess"))
