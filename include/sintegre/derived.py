"""Small derived tables, as an example of a DAG scheduled on a lake Asset."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb

LOAD_DATASET = "arquivos_de_previsao_de_carga_para_o_dessem"
SUMMARY_DATASET = "carga_dessem_media_diaria"


def daily_load_summary(lake_root: Path) -> Path:
    """Mean forecast load per day and submarket over the current DESSEM load rows.

    Returns:
        The written file, ``derived/carga_dessem_media_diaria/data.parquet`` (replaced
        atomically: written aside, then renamed over).
    """
    source = lake_root / "curated" / LOAD_DATASET / "**" / "*.parquet"
    target = lake_root / "derived" / SUMMARY_DATASET / "data.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{uuid.uuid4().hex}.tmp.parquet")
    with duckdb.connect() as con:
        con.execute(
            f"""
            COPY (
                SELECT data, submercado, round(avg(carga_mwmed), 2) AS carga_media_mwmed,
                       count(*) AS patamares, max(ingested_at) AS atualizado_em
                FROM read_parquet('{source}', hive_partitioning = true, union_by_name = true)
                GROUP BY ALL ORDER BY ALL
            ) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)
            """
        )
    os.replace(tmp, target)
    return target
