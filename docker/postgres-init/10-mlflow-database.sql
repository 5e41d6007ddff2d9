-- MLflow's tracking/registry store lives beside Airflow's metadata in the same server but in its
-- own database (both use an `alembic_version` table). Runs once, on an empty data volume.
CREATE DATABASE mlflow;
