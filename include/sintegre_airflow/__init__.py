"""The Airflow side: the DAG factory, Assets and notifiers. The only package importing Airflow."""
