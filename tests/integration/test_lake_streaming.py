"""Landing a big table needs memory for one record batch, not for the table.

A staged table of a few million rows (several hundred MB once in memory) is landed by the real
``sintegre.lake.landing.land`` in a child process whose peak resident memory must stay well below
the
table's size. Reading the whole table and adding the lineage columns to it, as a naive writer
would, needs several times the table's size. This is a memory bound, not a timing.

The peak is the child's ``VmHWM`` (``/proc/self/status``), read by the child as it ends.
``getrusage``'s ``ru_maxrss`` (``RUSAGE_CHILDREN``, or ``os.wait4`` for one child) is not
usable for this: Linux carries the pre-``exec`` high-water mark into it, and before ``exec``
the child is a fork of this test process, which holds the test data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sintegre.core.settings import PROJECT_ROOT

INCLUDE = PROJECT_ROOT / "include"
ROWS = 3_000_000
CHUNK = 250_000
#: ~250 bytes a row of text: with the numbers, about 270 bytes a row once in memory.
PADDING = "leve;" * 48
SHA = "5e" * 32
PARTITION = Path("macroprocesso=programacao_da_operacao", "periodicidade=2025-04-29")

LANDER = """
import json, sys
from pathlib import Path
from sintegre.lake.layout import StagedTable
from sintegre.lake.landing import land
spec = json.loads(Path(sys.argv[1]).read_text())
result = land([StagedTable(**spec["table"])], spec["conf"], spec["download"],
              lake_root=Path(spec["lake"]), run_id="big-run")
status = Path("/proc/self/status").read_text()
[hwm] = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
print(json.dumps({"datasets": result["datasets"], "peak_kib": int(hwm)}))
"""


def write_staged(path: Path) -> int:
    """A parse step's staged table, written chunk by chunk; returns its in-memory size."""
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("carga_mwmed", pa.float64()),
            ("submercado", pa.string()),
            ("patamar", pa.string()),
        ]
    )
    nbytes = 0
    # Row groups of about a million rows: what pq.write_table makes by default.
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, ROWS, CHUNK):
            ids = pa.array(range(start, start + CHUNK), pa.int64())
            sub = pc.choose(
                pc.cast(pc.bit_wise_and(ids, 3), pa.int8()),
                pa.scalar("SE/CO"),
                pa.scalar("S"),
                pa.scalar("NE"),
                pa.scalar("N"),
            )
            patamar = pc.binary_join_element_wise(pc.cast(ids, pa.string()), PADDING, ";")
            batch = pa.record_batch(
                [ids, pc.multiply(pc.cast(ids, pa.float64()), 0.5), sub, patamar], schema=schema
            )
            nbytes += batch.nbytes
            writer.write_batch(batch, row_group_size=1 << 20)
    return nbytes


def test_a_big_staged_table_lands_in_bounded_memory(tmp_path: Path) -> None:
    staged = tmp_path / "staging" / "000.parquet"
    staged.parent.mkdir()
    data_bytes = write_staged(staged)
    assert data_bytes > 500 * 2**20  # the table is big; a whole-table writer would show it
    lake = tmp_path / "lake"
    spec = {
        "table": {
            "name": "",
            "path": str(staged),
            "source_member": "",
            "original_columns": ["Id", "Carga (MWmed)", "Submercado", "Patamar"],
            "rows": ROWS,
        },
        "conf": {
            "notification_id": "big-1",
            "nome": "Carga",
            "dataset": "carga",
            "macroprocesso_slug": "programacao_da_operacao",
            "macroProcesso": "Programação da Operação",
            "periodicidade_date": "2025-04-29",
            "periodicidade_final_date": "2025-04-29",
            "granularity": "daily",
            "token_nbf": 1_745_900_000,
            "product_id": 275,
        },
        "download": {"raw_path": f"raw/carga/{SHA}/carga.csv", "sha256": SHA, "file_name": "c.csv"},
        "lake": str(lake),
    }
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    env = {**os.environ, "PYTHONPATH": str(INCLUDE)}
    env.pop("SINTEGRE_LAKE_CRASH_AT", None)

    child = subprocess.run(
        [sys.executable, "-c", LANDER, str(spec_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert [(d["dataset"], d["rows"], d["outcome"]) for d in report["datasets"]] == [
        ("carga", ROWS, "new")
    ]
    peak_bytes = report["peak_kib"] * 1024
    print(
        f"staged table {data_bytes / 2**20:.0f} MiB in memory; "
        f"lander peak RSS {peak_bytes / 2**20:.0f} MiB"
    )
    assert peak_bytes < data_bytes / 2

    # Everything landed: every row, the lineage on every row, the same file as curated copy.
    history = lake / "history" / "carga" / PARTITION / f"{SHA}.parquet"
    curated = lake / "curated" / "carga" / PARTITION / "data.parquet"
    meta = pq.ParquetFile(history).metadata
    assert meta.num_rows == ROWS
    assert meta.num_row_groups > 1  # written batch by batch
    assert curated.read_bytes() == history.read_bytes()
    names = pq.read_schema(history).names
    assert names[:4] == ["id", "carga_mwmed", "submercado", "patamar"]
    assert {"src_sha256", "src_notification_id", "dag_run_id", "ingested_at"} <= set(names)
    last = pq.ParquetFile(history).read_row_group(meta.num_row_groups - 1)
    assert last.column("id")[-1].as_py() == ROWS - 1
    assert last.column("patamar")[-1].as_py() == f"{ROWS - 1};{PADDING}"
    assert set(last.column("src_sha256").to_pylist()) == {SHA}
    assert set(last.column("dag_run_id").to_pylist()) == {"big-run"}
