"""spark-submit entry point: gold trip_features → XGBoost model, baselines, MLflow run and registry gate.

    spark-submit --master <url> spark_jobs/model_training_job.py \
        --service green --train-months 2025-01 --eval-month 2025-02

(`nyctaxi submit train ...` builds that command from settings.)
"""

import sys

from nyctaxi.jobs import submit_main

if __name__ == "__main__":
    sys.exit(submit_main("train"))
