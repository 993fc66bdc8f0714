"""SINtegre → Airflow → Parquet lake: the domain package (no Airflow imports here)."""

__version__ = "0.1.0"
