"""Spike for issue #15: the lake's catalog as one Parquet file per delivery, Delta Lake or Iceberg.

Self-contained (it does not import ``sintegre``): run it with a scratch venv that has
``deltalake pyiceberg[sql-sqlite,pyarrow] duckdb polars pyarrow pandas moto[server] boto3``::

    python bench/spike_lake_format.py --sizes 10000,100000,1000000 --commits 200
    python bench/spike_lake_format.py --sizes 10000 --store s3 --s3-endpoint http://127.0.0.1:5077
    python bench/spike_lake_format.py --concurrency --s3-endpoint http://127.0.0.1:5077
    python bench/spike_lake_format.py --time-travel

A synthetic catalog of N deliveries (1-4 rows each, shaped like
``sintegre.lake.landing.CATALOG_SCHEMA``:
25 products, daily / weekly / monthly periods over three years, six macroprocessos) is built in
bulk, then the newest ``--commits`` deliveries are committed one at a time (the state a lake has
between two runs of a maintenance DAG), then the maintenance is run. Measured for each candidate:

* ``commit``   one landing's commit: append one delivery's rows atomically;
* ``decide``   a landing's version decision: the rows of one (macroprocesso, periodicidade,
  dataset), from a fresh handle (a landing task is a new process);
* ``open``     make ``catalog`` queryable in DuckDB (no extension: an Arrow dataset registered);
* ``q_raw``    ``SELECT ... WHERE product_id = X AND periodicidade >= end - 30 days``;
* ``q_cur``    the same through the ``is_current`` window view of ``sintegre.lake.views``;
* ``maint``    the maintenance (Delta: compact + checkpoint; Iceberg: expire snapshots).

Candidates: ``parquet`` (today: one file per delivery under hive folders), ``delta``
(deltalake, partitioned by macroprocesso and month of periodicidade), ``iceberg`` (pyiceberg,
SQL catalog on SQLite, partitioned by identity(macroprocesso), month(periodicidade)).
Results are printed as JSON lines and appended to ``--out``.
"""

from __future__ import annotations

import argparse
import binascii
import contextlib
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds
import pyarrow.parquet as pq
from pyarrow import fs as pafs

# --------------------------------------------------------------------------- synthetic catalog
# The lake's own catalog schema: the spike measures the formats on exactly these columns.
from sintegre.lake.layout import CATALOG_SCHEMA

#: Partition columns, explicit in the table formats (hive folders in today's design).
PART_FIELDS = [("macroprocesso", pa.string()), ("periodicidade", pa.date32())]
#: Delta has no hidden partitioning: the month is a real column.
MONTH_FIELD = ("periodo_mes", pa.string())
FULL_SCHEMA = pa.schema(list(CATALOG_SCHEMA) + PART_FIELDS + [MONTH_FIELD])

START = date(2023, 1, 1)
DAYS = 3 * 365
END = START + timedelta(days=DAYS - 1)
MACROS = ["programacao", "operacao", "planejamento", "hidrologia", "mercado", "transmissao"]
N_PRODUCTS = 25
DECISION_COLUMNS = ["dataset", "sha256", "version", "outcome", "delivered_at", "ingested_at"]
VERSION_OUTCOMES = ("new", "unchanged", "older", "reverted")


def products() -> list[dict[str, Any]]:
    out = []
    for pid in range(1, N_PRODUCTS + 1):
        gran = "daily" if pid <= 12 else "weekly" if pid <= 20 else "monthly"
        out.append(
            {
                "product_id": pid,
                "product": f"Produto {pid:02d}",
                "macro": MACROS[pid % len(MACROS)],
                "granularity": gran,
                "datasets": [f"p{pid:02d}_t{k}" for k in range(1 + (pid * 7) % 4)],
                "weight": {"daily": 1.0, "weekly": 0.5, "monthly": 0.3}[gran],
            }
        )
    return out


def synth(n: int, seed: int = 15) -> tuple[pa.Table, np.ndarray]:
    """N deliveries as catalog rows, oldest landing first; and each delivery's first row."""
    rng = np.random.default_rng(seed)
    prods = products()
    w = np.array([p["weight"] for p in prods])
    prod = rng.choice(len(prods), size=n, p=w / w.sum())
    gran = np.array([p["granularity"] for p in prods])[prod]
    day = rng.integers(0, DAYS, size=n)
    day = np.where(gran == "weekly", day - day % 7, day)
    month_starts = np.array(
        [(date(2023 + m // 12, 1 + m % 12, 1) - START).days for m in range(36)], dtype=np.int64
    )
    day = np.where(gran == "monthly", month_starts[rng.integers(0, 36, size=n)], day)
    epoch_start = int(datetime(START.year, START.month, START.day, tzinfo=UTC).timestamp())
    delivered = (epoch_start + day * 86400 + rng.integers(0, 72 * 3600, size=n)) * 1_000_000
    ingested = delivered + rng.integers(1, 600, size=n) * 1_000_000
    order = np.argsort(ingested, kind="stable")
    prod, day, delivered, ingested = prod[order], day[order], delivered[order], ingested[order]

    nds = np.array([len(p["datasets"]) for p in prods])[prod]
    total = int(nds.sum())
    rep = np.repeat(np.arange(n), nds)
    firsts = np.concatenate([[0], np.cumsum(nds)[:-1]])
    within = np.arange(total) - np.repeat(firsts, nds)
    ds_offset = np.concatenate([[0], np.cumsum([len(p["datasets"]) for p in prods])[:-1]])
    all_ds = [d for p in prods for d in p["datasets"]]
    ds_idx = ds_offset[prod[rep]] + within
    prow = prod[rep]

    def take(values: list[Any], idx: np.ndarray, type_: pa.DataType | None = None) -> pa.Array:
        return pa.array(values, type=type_ or pa.string()).take(pa.array(idx))

    hexes = binascii.hexlify(rng.bytes(32 * total)).decode()
    sha = pa.array([hexes[i * 64 : (i + 1) * 64] for i in range(total)], type=pa.string())
    ing_ids = pa.array([f"{i:016x}-{seed:04x}" for i in range(n)]).take(pa.array(rep))
    dataset = take(all_ds, ds_idx)
    macro = take([p["macro"] for p in prods], prow)
    period = pa.array((day[rep]).astype("int32") + (START - date(1970, 1, 1)).days, pa.date32())
    period_s = pc.strftime(pc.cast(period, pa.timestamp("s")), "%Y-%m-%d")
    month_s = pc.strftime(pc.cast(period, pa.timestamp("s")), "%Y-%m")
    outcome = take(["new", "unchanged", "older"], rng.choice(3, size=total, p=[0.8, 0.15, 0.05]))
    loc = ["/macroprocesso=", macro, "/periodicidade=", period_s, "/"]
    cols = {
        "ingestion_id": ing_ids,
        "notification_id": ing_ids,
        "dataset": dataset,
        "table_name": dataset,
        "product": take([p["product"] for p in prods], prow),
        "product_id": take([p["product_id"] for p in prods], prow, pa.int64()),
        "processo": take([f"Processo {p['product_id'] % 9}" for p in prods], prow),
        "macroprocesso_label": pc.utf8_upper(macro),
        "data_produto": period_s,
        "granularity": take([p["granularity"] for p in prods], prow),
        "periodicidade_final": period,
        "source_file": pc.binary_join_element_wise(dataset, period_s, ".zip", ""),
        "source_member": pc.binary_join_element_wise(dataset, ".csv", ""),
        "sha256": sha,
        "version": sha,
        "rows": pa.array(rng.integers(10, 50_000, size=total), pa.int64()),
        "original_columns": pa.array(["a,b,c,d"] * total),
        "schema_drift": pa.nulls(total, pa.string()),
        "implausible": pa.nulls(total, pa.string()),
        "outcome": outcome,
        "changed": pc.equal(outcome, "new"),
        "raw_path": pc.binary_join_element_wise("raw/", dataset, *loc, sha, ".zip", ""),
        "curated_path": pc.binary_join_element_wise("curated/", dataset, *loc, "data.parquet", ""),
        "history_path": pc.binary_join_element_wise("history/", dataset, *loc, sha, ".parquet", ""),
        "dag_run_id": pc.binary_join_element_wise("run_", ing_ids, ""),
        "delivered_at": pa.array(delivered[rep], pa.timestamp("us", tz="UTC")),
        "ingested_at": pa.array(ingested[rep], pa.timestamp("us", tz="UTC")),
        "macroprocesso": macro,
        "periodicidade": period,
        "periodo_mes": month_s,
    }
    table = pa.table(cols, schema=FULL_SCHEMA)
    return table, np.concatenate([firsts, [total]])


def new_delivery(template: pa.Table, seq: int) -> pa.Table:
    """One fresh delivery (the template's rows, new id / sha / instants)."""
    now = datetime.now(UTC)
    k = template.num_rows
    ident = f"live-{seq:08d}-{uuid.uuid4().hex[:8]}"
    out = template
    for name, values in {
        "ingestion_id": [ident] * k,
        "notification_id": [ident] * k,
        "sha256": [uuid.uuid4().hex * 2 for _ in range(k)],
        "delivered_at": [now] * k,
        "ingested_at": [now] * k,
    }.items():
        i = out.schema.get_field_index(name)
        out = out.set_column(i, out.schema.field(i), pa.array(values, out.schema.field(i).type))
    return out.set_column(out.schema.get_field_index("version"), "version", out.column("sha256"))


# --------------------------------------------------------------------------- stores


class Store:
    """Local folder or an S3 bucket (moto) as seen by pyarrow, deltalake and pyiceberg."""

    def __init__(self, kind: str, root: str, endpoint: str | None) -> None:
        self.kind, self.root, self.endpoint = kind, root.rstrip("/"), endpoint
        if kind == "s3":
            host = endpoint.split("://", 1)[1]
            self.fs = pafs.S3FileSystem(
                access_key="testing",
                secret_key="testing",
                region="us-east-1",
                endpoint_override=host,
                scheme="http",
                allow_bucket_creation=True,
            )
            import boto3

            s3 = boto3.client(
                "s3",
                endpoint_url=endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name="us-east-1",
            )
            bucket = self.root.split("/", 1)[0]
            with contextlib.suppress(Exception):  # already there
                s3.create_bucket(Bucket=bucket)
        else:
            self.fs = pafs.LocalFileSystem()
            Path(self.root).mkdir(parents=True, exist_ok=True)

    def uri(self, *parts: str) -> str:
        path = "/".join([self.root, *parts])
        return f"s3://{path}" if self.kind == "s3" else path

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def delta_options(self) -> dict[str, str] | None:
        if self.kind != "s3":
            return None
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
            "conditional_put": "etag",
        }

    def iceberg_props(self) -> dict[str, str]:
        if self.kind != "s3":
            return {}
        return {
            "s3.endpoint": self.endpoint,
            "s3.access-key-id": "testing",
            "s3.secret-access-key": "testing",
            "s3.region": "us-east-1",
        }


# --------------------------------------------------------------------------- candidates

CURRENT_VIEW = """
CREATE OR REPLACE VIEW catalog AS
SELECT * EXCLUDE (_rank), coalesce(outcome IN ('new','unchanged','older','reverted') AND _rank = 1,
       false) AS is_current
FROM (SELECT *, row_number() OVER (
        PARTITION BY dataset, macroprocesso, periodicidade,
                     outcome IN ('new','unchanged','older','reverted')
        ORDER BY delivered_at DESC, ingested_at DESC) AS _rank
      FROM catalog_raw)
"""
Q_SINCE = END - timedelta(days=30)
Q_RAW = (
    "SELECT dataset, periodicidade, version, outcome, delivered_at FROM catalog_raw "
    f"WHERE product_id = 3 AND periodicidade >= DATE '{Q_SINCE}'"
)
Q_CUR = (
    "SELECT dataset, periodicidade, version, outcome, delivered_at FROM catalog "
    f"WHERE product_id = 3 AND periodicidade >= DATE '{Q_SINCE}' AND is_current"
)


class ParquetPerDelivery:
    """Today: one small Parquet file per delivery under macroprocesso=/periodicidade= folders."""

    name = "parquet"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.base = store.path("catalog", "ingestions")

    def _file(self, rows: pa.Table) -> str:
        macro = rows.column("macroprocesso")[0].as_py()
        period = rows.column("periodicidade")[0].as_py()
        stamp = rows.column("ingested_at")[0].as_py().strftime("%Y%m%dT%H%M%S%f")
        ident = rows.column("ingestion_id")[0].as_py()
        return f"{self.base}/macroprocesso={macro}/periodicidade={period}/{stamp}-{ident}.parquet"

    def commit(self, rows: pa.Table) -> None:
        key = self._file(rows)
        data = rows.select(CATALOG_SCHEMA.names)
        if self.store.kind == "s3":  # one PUT is atomic
            with self.store.fs.open_output_stream(key) as out:
                pq.write_table(data, out)
            return
        os.makedirs(os.path.dirname(key), exist_ok=True)
        tmp = f"{key}.tmp"
        pq.write_table(data, tmp)
        os.replace(tmp, key)

    def bulk(self, table: pa.Table, firsts: np.ndarray) -> None:
        for i in range(len(firsts) - 1):
            self.commit(table.slice(firsts[i], firsts[i + 1] - firsts[i]))

    def decide(self, macro: str, period: str, dataset: str) -> list[dict[str, Any]]:
        folder = f"{self.base}/macroprocesso={macro}/periodicidade={period}"
        infos = self.store.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
        rows: list[dict[str, Any]] = []
        for info in infos:
            if info.path.endswith(".parquet"):
                with self.store.fs.open_input_file(info.path) as handle:
                    t = pq.ParquetFile(handle).read(columns=DECISION_COLUMNS)
                rows += [r for r in t.to_pylist() if r["dataset"] == dataset]
        return rows

    def open(self, con: duckdb.DuckDBPyConnection) -> None:
        if self.store.kind == "s3":
            # No httpfs offline: a pyarrow dataset (lists the bucket, reads every footer).
            ds = pds.dataset(
                self.base,
                filesystem=self.store.fs,
                format="parquet",
                partitioning=pds.partitioning(pa.schema(PART_FIELDS), flavor="hive"),
            )
            con.register("catalog_raw", ds)
        else:
            con.execute(
                "CREATE OR REPLACE VIEW catalog_raw AS SELECT * FROM read_parquet("
                f"'{self.base}/**/*.parquet', hive_partitioning = true, "
                "hive_types = {'macroprocesso': VARCHAR, 'periodicidade': DATE})"
            )
        con.execute(CURRENT_VIEW)

    def maintenance(self) -> str:
        return "none (nothing to compact in today's design)"


class DeltaCatalog:
    """The catalog as one Delta table partitioned by macroprocesso and month of periodicidade."""

    name = "delta"
    PARTITION_BY = ("macroprocesso", "periodo_mes")

    def __init__(self, store: Store) -> None:
        self.store = store
        self.uri = store.uri("catalog_delta")
        self.opts = store.delta_options()

    def table(self, version: Any = None):
        from deltalake import DeltaTable

        dt = DeltaTable(self.uri, storage_options=self.opts)
        if version is not None:
            dt.load_as_version(version)
        return dt

    def bulk(self, table: pa.Table, firsts: np.ndarray) -> None:
        from deltalake import write_deltalake

        write_deltalake(
            self.uri,
            table,
            partition_by=list(self.PARTITION_BY),
            mode="overwrite",
            storage_options=self.opts,
            configuration={"delta.checkpointInterval": "100"},
        )

    def commit(self, rows: pa.Table) -> None:
        from deltalake import write_deltalake

        write_deltalake(
            self.uri,
            rows,
            partition_by=list(self.PARTITION_BY),
            mode="append",
            storage_options=self.opts,
        )

    def decide(self, macro: str, period: str, dataset: str) -> list[dict[str, Any]]:
        # delta-rs' own engine (DataFusion): partition pruning from the log, no pyarrow
        # dataset to build (``to_pyarrow_dataset`` alone costs ~0.35 s whatever the size).
        from deltalake import QueryBuilder

        sql = (
            f"SELECT {', '.join(DECISION_COLUMNS)} FROM c WHERE macroprocesso = '{macro}'"
            f" AND periodo_mes = '{period[:7]}' AND periodicidade = DATE '{period}'"
            f" AND dataset = '{dataset}'"
        )
        result = QueryBuilder().register("c", self.table()).execute(sql).read_all()
        return pa.table(result).to_pylist()

    def open(self, con: duckdb.DuckDBPyConnection, version: Any = None) -> None:
        con.register("catalog_raw", self.table(version).to_pyarrow_dataset())
        con.execute(CURRENT_VIEW)

    def maintenance(self) -> str:
        dt = self.table()
        metrics = dt.optimize.compact()
        dt = self.table()
        dt.create_checkpoint()
        dt.cleanup_metadata()  # only logs older than delta.logRetentionDuration (30 days)
        return (
            f"compact: {metrics.get('numFilesRemoved')} files -> {metrics.get('numFilesAdded')};"
            " checkpoint; cleanup_metadata (no vacuum: keeps time travel)"
        )

    def stats(self) -> dict[str, Any]:
        dt = self.table()
        return {"version": dt.version(), "active_files": len(dt.file_uris())}


class IcebergCatalog:
    """The catalog as one Iceberg table, SQL catalog on SQLite, month(periodicidade) partitions."""

    name = "iceberg"

    def __init__(self, store: Store, db: str) -> None:
        from pyiceberg.catalog.sql import SqlCatalog

        self.store = store
        warehouse = store.uri("iceberg_wh")
        if store.kind == "local":
            warehouse = "file://" + os.path.abspath(warehouse)
        self.catalog = SqlCatalog(
            "spike", uri=f"sqlite:///{db}", warehouse=warehouse, **store.iceberg_props()
        )
        self.ident = "lake.catalog"

    def table(self):
        return self.catalog.load_table(self.ident)

    def bulk(self, table: pa.Table, firsts: np.ndarray) -> None:
        from pyiceberg.partitioning import PartitionField, PartitionSpec
        from pyiceberg.transforms import IdentityTransform, MonthTransform

        self.catalog.create_namespace_if_not_exists("lake")
        if self.catalog.table_exists(self.ident):
            self.catalog.purge_table(self.ident)
        schema = pa.schema([f for f in FULL_SCHEMA if f.name != "periodo_mes"])
        tbl = self.catalog.create_table(self.ident, schema=schema)
        ids = {f.name: f.field_id for f in tbl.schema().fields}
        spec = PartitionSpec(
            PartitionField(ids["macroprocesso"], 1000, IdentityTransform(), "macroprocesso"),
            PartitionField(ids["periodicidade"], 1001, MonthTransform(), "periodicidade_month"),
        )
        self.catalog.purge_table(self.ident)
        tbl = self.catalog.create_table(
            self.ident,
            schema=tbl.schema(),
            partition_spec=spec,
        )
        tbl.append(table.drop_columns(["periodo_mes"]))

    def commit(self, rows: pa.Table) -> None:
        self.table().append(rows.drop_columns(["periodo_mes"]))

    def decide(self, macro: str, period: str, dataset: str) -> list[dict[str, Any]]:
        from pyiceberg.expressions import And, EqualTo

        flt = And(
            EqualTo("macroprocesso", macro),
            EqualTo("periodicidade", period),
            EqualTo("dataset", dataset),
        )
        return (
            self.table()
            .scan(row_filter=flt, selected_fields=tuple(DECISION_COLUMNS))
            .to_arrow()
            .to_pylist()
        )

    def _dataset(self, snapshot_id: int | None = None) -> pds.Dataset:
        tbl = self.table()
        tasks = list(tbl.scan(snapshot_id=snapshot_id).plan_files())
        assert all(not t.delete_files for t in tasks), "merge-on-read deletes need the scan"
        paths = [t.file.file_path for t in tasks]
        if self.store.kind == "s3":
            paths = [p.removeprefix("s3://") for p in paths]
        else:
            paths = [p.removeprefix("file://") for p in paths]
        return pds.dataset(paths, filesystem=self.store.fs, format="parquet")

    def open(self, con: duckdb.DuckDBPyConnection, snapshot_id: int | None = None) -> None:
        con.register("catalog_raw", self._dataset(snapshot_id))
        con.execute(CURRENT_VIEW)

    def maintenance(self) -> str:
        tbl = self.table()
        current = tbl.current_snapshot().snapshot_id
        old = [s.snapshot_id for s in tbl.snapshots() if s.snapshot_id != current]
        if old:
            tbl.maintenance.expire_snapshots().by_ids(old).commit()
        return f"expire_snapshots ({len(old)} expired); no compaction API in pyiceberg 0.12"

    def stats(self) -> dict[str, Any]:
        tbl = self.table()
        snap = tbl.current_snapshot()
        manifests = snap.manifests(tbl.io)
        files = len(list(tbl.scan().plan_files()))
        return {"snapshots": len(tbl.snapshots()), "manifests": len(manifests), "files": files}


# --------------------------------------------------------------------------- measuring


def timed(fn, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if times[-1] > 5:  # slow enough to be measured once (keeps each run bounded)
            break
    return statistics.median(times), out


def measure_reads(cand, probe: dict[str, str], repeat: int) -> dict[str, Any]:
    res: dict[str, Any] = {}
    res["decide_s"], rows = timed(lambda: cand.decide(**probe), repeat)
    res["decide_rows"] = len(rows)

    def open_() -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        cand.open(con)
        return con

    res["open_s"], con = timed(open_, repeat)
    res["q_raw_s"], out = timed(lambda: con.execute(Q_RAW).fetchall(), repeat)
    res["q_raw_rows"] = len(out)
    res["q_cur_s"], out = timed(lambda: con.execute(Q_CUR).fetchall(), max(1, repeat // 2))
    res["q_cur_rows"] = len(out)
    return res


def probe_for(table: pa.Table) -> dict[str, str]:
    """The busiest (macroprocesso, periodicidade, dataset) of the newest month: a worst case."""
    recent = table.filter(
        pc.field("periodicidade") >= pa.scalar(END - timedelta(days=40), pa.date32())
    )
    counts = (
        recent.group_by(["macroprocesso", "periodicidade", "dataset"])
        .aggregate([("sha256", "count")])
        .sort_by([("sha256_count", "descending")])
    )
    top = counts.slice(0, 1).to_pylist()[0]
    return {
        "macro": top["macroprocesso"],
        "period": str(top["periodicidade"]),
        "dataset": top["dataset"],
    }


def run_size(args, n: int) -> list[dict[str, Any]]:
    t0 = time.perf_counter()
    table, firsts = synth(n)
    gen_s = time.perf_counter() - t0
    k = min(args.commits, n)
    bulk_end = firsts[n - k]
    bulk_t, bulk_firsts = table.slice(0, bulk_end), firsts[: n - k + 1]
    live = [table.slice(firsts[i], firsts[i + 1] - firsts[i]) for i in range(n - k, n)]
    probe = probe_for(table)
    print(f"# n={n} rows={table.num_rows} gen={gen_s:.1f}s probe={probe}", file=sys.stderr)
    results = []
    work = tempfile.mkdtemp(prefix=f"spike{n}-", dir=args.workdir)
    try:
        for name in args.candidates:
            if args.store == "s3":
                root = f"spike-{uuid.uuid4().hex[:8]}/n{n}"
            else:
                root = os.path.join(work, name)
            store = Store(args.store, root, args.s3_endpoint)
            rec: dict[str, Any] = {
                "candidate": name,
                "store": args.store,
                "deliveries": n,
                "rows": table.num_rows,
                "commits": k,
            }
            if name == "parquet":
                cand = ParquetPerDelivery(store)
                limit = (
                    args.parquet_max_files if args.store == "local" else args.parquet_max_files_s3
                )
                if n > limit:
                    # Too many files to write in the time box: write only the probe partition
                    # at full density (the decision reads nothing else) and skip the views.
                    part = table.filter(
                        (pc.field("macroprocesso") == probe["macro"])
                        & (
                            pc.field("periodicidade")
                            == pa.scalar(date.fromisoformat(probe["period"]), pa.date32())
                        )
                    )
                    ids = part.column("ingestion_id")
                    starts = [0, *(i for i in range(1, part.num_rows) if ids[i] != ids[i - 1])]
                    t1 = time.perf_counter()
                    cand.bulk(part, np.array([*starts, part.num_rows]))
                    rec["build_s"] = time.perf_counter() - t1
                    rec["note"] = (
                        f"only the probe partition written ({len(starts)} files);"
                        " views not measured"
                    )
                    rec["decide_s"], rows = timed(lambda c=cand: c.decide(**probe), args.repeat)
                    rec["decide_rows"] = len(rows)
                    ct = [timed(lambda d=d, c=cand: c.commit(d), 1)[0] for d in live[: min(20, k)]]
                    rec["commit_s"] = statistics.median(ct)
                    results.append(rec)
                    print(json.dumps(rec, default=str), flush=True)
                    continue
            elif name == "delta":
                cand = DeltaCatalog(store)
            else:
                cand = IcebergCatalog(store, os.path.join(work, "iceberg.db"))
            t1 = time.perf_counter()
            cand.bulk(bulk_t, bulk_firsts)
            rec["build_s"] = time.perf_counter() - t1
            ct = []
            t1 = time.perf_counter()
            for d in live:
                t2 = time.perf_counter()
                cand.commit(d)
                ct.append(time.perf_counter() - t2)
            rec["commits_total_s"] = time.perf_counter() - t1
            rec["commit_s"] = statistics.median(ct)
            rec["commit_p95_s"] = sorted(ct)[int(0.95 * (len(ct) - 1))]
            rec["commit_last20_s"] = statistics.median(ct[-20:])
            if hasattr(cand, "stats"):
                rec["stats_before_maint"] = cand.stats()
            rec.update(measure_reads(cand, probe, args.repeat))
            if name != "parquet":
                t1 = time.perf_counter()
                rec["maint_note"] = cand.maintenance()
                rec["maint_s"] = time.perf_counter() - t1
                rec["stats_after_maint"] = cand.stats()
                after = measure_reads(cand, probe, args.repeat)
                rec.update({f"{key}_after_maint": v for key, v in after.items()})
                ct = [
                    timed(lambda d=d, i=i, c=cand: c.commit(new_delivery(d, i)), 1)[0]
                    for i, d in enumerate(live[-10:])
                ]
                rec["commit_after_maint_s"] = statistics.median(ct)
            results.append(rec)
            print(json.dumps(rec, default=str), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return results


# --------------------------------------------------------------------------- concurrency (S3)


def _writer(kind: str, endpoint: str, root: str, db: str, wid: int, n: int, q) -> None:
    store = Store("s3", root, endpoint)
    cand = DeltaCatalog(store) if kind == "delta" else IcebergCatalog(store, db)
    template, _ = synth(1, seed=100 + wid)
    errors = []
    for i in range(n):
        try:
            cand.commit(new_delivery(template, wid * 1000 + i))
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {str(exc)[:160]}")
    q.put((wid, template.num_rows, errors))


def concurrency(args) -> list[dict[str, Any]]:
    out = []
    for kind in ("delta", "iceberg"):
        root = f"spike-conc-{uuid.uuid4().hex[:8]}"
        store = Store("s3", root, args.s3_endpoint)
        db = os.path.join(tempfile.mkdtemp(dir=args.workdir), "iceberg.db")
        seed_t, firsts = synth(10)
        cand = DeltaCatalog(store) if kind == "delta" else IcebergCatalog(store, db)
        cand.bulk(seed_t, firsts)
        # spawn, not fork: delta-rs' tokio runtime panics in a forked child of a process that
        # already used it ("Forked process detected").
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        procs = [
            ctx.Process(
                target=_writer, args=(kind, args.s3_endpoint, root, db, w, args.conc_commits, q)
            )
            for w in range(args.writers)
        ]
        t0 = time.perf_counter()
        for p in procs:
            p.start()
        reports = [q.get() for _ in procs]
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - t0
        expected = seed_t.num_rows + sum(
            rows * (args.conc_commits - len(errs)) for _, rows, errs in reports
        )
        cand = DeltaCatalog(store) if kind == "delta" else IcebergCatalog(store, db)
        if kind == "delta":
            actual = cand.table().to_pyarrow_dataset().count_rows()
            versions = cand.table().version()
        else:
            actual = cand.table().scan().to_arrow().num_rows
            versions = len(cand.table().snapshots())
        rec = {
            "concurrency": kind,
            "writers": args.writers,
            "commits_each": args.conc_commits,
            "elapsed_s": elapsed,
            "expected_rows": expected,
            "actual_rows": actual,
            "versions_or_snapshots": versions,
            "errors": [e for _, _, errs in reports for e in errs][:5],
            "n_errors": sum(len(errs) for _, _, errs in reports),
        }
        print(json.dumps(rec), flush=True)
        out.append(rec)
    return out


# --------------------------------------------------------------------------- time travel


def time_travel(args) -> dict[str, Any]:
    """Write 3 versions, then read "as of" the instant between the 1st and 2nd commit."""
    import pandas as pd
    import polars as pl

    work = tempfile.mkdtemp(dir=args.workdir)
    store = Store("local", work, None)
    table, firsts = synth(100)
    d = DeltaCatalog(store)
    d.bulk(table.slice(0, firsts[50]), firsts[:51])
    time.sleep(1.1)
    t_between = datetime.now(UTC)
    time.sleep(1.1)
    d.commit(table.slice(firsts[50], firsts[100] - firsts[50]))
    rec: dict[str, Any] = {"expected_as_of": int(firsts[50]), "expected_now": table.num_rows}
    con = duckdb.connect()
    d.open(con, version=t_between)
    rec["delta_duckdb_arrow_dataset"] = con.execute("SELECT count(*) FROM catalog_raw").fetchone()[
        0
    ]
    rec["delta_polars_scan_delta"] = (
        pl.scan_delta(d.uri, version=t_between).select(pl.len()).collect().item()
    )
    rec["delta_pandas"] = len(d.table(t_between).to_pandas(columns=["dataset"]))
    ice = IcebergCatalog(store, os.path.join(work, "ice.db"))
    ice.bulk(table.slice(0, firsts[50]), firsts[:51])
    time.sleep(1.1)
    t_between = datetime.now(UTC)
    time.sleep(1.1)
    ice.commit(table.slice(firsts[50], firsts[100] - firsts[50]))
    tbl = ice.table()
    snap = tbl.snapshot_as_of_timestamp(int(t_between.timestamp() * 1000))
    con = duckdb.connect()
    ice.open(con, snapshot_id=snap.snapshot_id)
    rec["iceberg_duckdb_arrow_dataset"] = con.execute(
        "SELECT count(*) FROM catalog_raw"
    ).fetchone()[0]
    rec["iceberg_polars_scan_iceberg"] = (
        pl.scan_iceberg(tbl, snapshot_id=snap.snapshot_id).select(pl.len()).collect().item()
    )
    rec["iceberg_pandas"] = len(tbl.scan(snapshot_id=snap.snapshot_id).to_pandas())
    # Independent of any table format: the catalog is itself a log with ingested_at.
    con = duckdb.connect()
    d.open(con)
    cutoff = table.column("ingested_at")[int(firsts[50]) - 1].as_py()
    rec["catalog_ingested_at_le_T"] = con.execute(
        "SELECT count(*) FROM catalog_raw WHERE ingested_at <= ?", [cutoff]
    ).fetchone()[0]
    rec["pandas_version"] = pd.__version__
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(rec), flush=True)
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--candidates", default="parquet,delta,iceberg")
    ap.add_argument(
        "--commits", type=int, default=200, help="newest deliveries committed one by one"
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--store", choices=["local", "s3"], default="local")
    ap.add_argument("--s3-endpoint", default="http://127.0.0.1:5077")
    ap.add_argument(
        "--parquet-max-files",
        type=int,
        default=100_000,
        help="above this, today's design writes only the probe partition",
    )
    ap.add_argument("--parquet-max-files-s3", type=int, default=2_000)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--concurrency", action="store_true", help="two writers on S3, then exit")
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--conc-commits", type=int, default=20)
    ap.add_argument("--time-travel", action="store_true", help="as-of reads, then exit")
    ap.add_argument("--out", default=None, help="append JSON lines here")
    args = ap.parse_args(argv)
    args.candidates = args.candidates.split(",")
    if args.concurrency:
        results = concurrency(args)
    elif args.time_travel:
        results = [time_travel(args)]
    else:
        results = [r for n in map(int, args.sizes.split(",")) for r in run_size(args, n)]
    if args.out:
        with open(args.out, "a") as fh:
            for r in results:
                fh.write(json.dumps(r, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
