"""Small derived tables, as an example of a DAG scheduled on a lake Asset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from sintegre.lake.storage import LakeStore, open_store
from sintegre.lake.views import quote_literal

if TYPE_CHECKING:
    from sintegre.core.settings import Settings

#: The DESSEM load forecast, half-hourly per subsystem (catalog: product 479, ``dessem_carga``).
LOAD_DATASET = "dessem_carga"
SUMMARY_DATASET = "carga_dessem_media_diaria"


def daily_load_summary(
    lake_root: Path | str | LakeStore, *, settings: Settings | None = None
) -> str:
    """Mean forecast load per day and submarket over the current DESSEM load rows.

    Args:
        lake_root: The lake: a local path, ``s3://bucket/prefix`` or a store.
        settings: S3 endpoint and credentials of an ``s3://`` lake; from the environment when
            omitted.

    Returns:
        Where the table was written, ``derived/carga_dessem_media_diaria/data.parquet`` under
        the lake (a local path or an ``s3://`` URL), replaced atomically: written aside, then
        renamed over (local) or uploaded in one PUT (S3).
    """
    store = open_store(lake_root, settings)
    source = f"{store.uri_for(LakeStore.join('curated', LOAD_DATASET))}/**/*.parquet"
    key = LakeStore.join("derived", SUMMARY_DATASET, "data.parquet")
    with store.atomic_path(key) as tmp, duckdb.connect() as con:
        store.register_with_duckdb(con)
        scan = (
            f"read_parquet({quote_literal(source)}, hive_partitioning = true, union_by_name = true)"
        )
        # One row per day and subsystem: the mean of the half-hourly forecast (ONS's
        # timestamps are Brasília local time, so the day is the timestamp's date).
        con.execute(
            f"""
            COPY (
                SELECT CAST(data_hora AS DATE) AS data, submercado,
                       round(avg(carga_mw), 2) AS carga_media_mwmed,
                       count(*) AS meias_horas, max(ingested_at) AS atualizado_em
                FROM {scan}
                GROUP BY ALL ORDER BY ALL
            ) TO {quote_literal(str(tmp))} (FORMAT parquet, COMPRESSION zstd)
            """
        )
    return store.uri_for(key)
