"""``sintegre.lake.migrate``: a lake made by the pre-Delta code answers the same after migration.

The "old code" is today's landing with its catalog step as it was before issue #15 (the
commit point was one Parquet file per delivery under ``catalog/ingestions/...``, read back by
listing that folder): :func:`legacy_writer` swaps exactly those two functions back in, so
``history/`` and ``curated/`` are written by the same code as before. The old ``catalog`` view
(a ``read_parquet`` glob over those files) is kept here verbatim to read the lake before.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_lakeviews import NBF, NEXT_DAY, make_conf, make_download, stage

from sintegre.cli.lake_migrate import main
from sintegre.lake import delta_catalog as catalog_delta
from sintegre.lake import landing as lake_module
from sintegre.lake import views as lakeviews
from sintegre.lake.decision import VERSION_OUTCOMES
from sintegre.lake.landing import land
from sintegre.lake.layout import CATALOG_SCHEMA
from sintegre.lake.migrate import MIGRATED_PREFIX, MigrationError, migrate
from sintegre.lake.storage import LakeStore, open_store

T0 = datetime(2025, 4, 29, 12, 0, tzinfo=UTC)


# --- the old catalog, verbatim from before the Delta table -------------------------------------


def _old_catalog_dir(macro: str, period: str) -> str:
    return LakeStore.join(
        "catalog", "ingestions", f"macroprocesso={macro}", f"periodicidade={period}"
    )


def _old_partition_versions(
    store: LakeStore,
    macro: str,
    period: str,
    datasets: list[str] | None = None,
    *,
    loaded: object = None,  # the new code's shared table load: the old one had none
) -> list[dict[str, Any]]:
    # The old reader read every dataset of the folder (``datasets`` is the new filter).
    columns = ["ingestion_id", "dataset", "sha256", "version", "outcome", "delivered_at"]
    columns.append("ingested_at")
    found: list[dict[str, Any]] = []
    for key in store.list(_old_catalog_dir(macro, period), ".parquet"):
        with store.open_input(key) as handle:
            table = pq.ParquetFile(handle).read(columns=columns)
        found += [r for r in table.to_pylist() if r["outcome"] in VERSION_OUTCOMES]
    return found


def _old_catalog_sql(store: LakeStore, snapshot: object) -> str:
    glob = f"{store.uri_for('catalog/ingestions')}/**/*.parquet"
    hive = "{'macroprocesso': 'VARCHAR', 'periodicidade': 'DATE'}"
    scan = (
        f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true, "
        f"hive_types = {hive}, filename = '_file', file_row_number = true)"
    )
    versions = f"outcome IN ({', '.join(repr(o) for o in VERSION_OUTCOMES)})"
    return f"""
        SELECT * EXCLUDE (_file, _row, _rank), coalesce({versions} AND _rank = 1, false)
            AS is_current
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY dataset, macroprocesso, periodicidade, {versions}
                ORDER BY delivered_at DESC, ingested_at DESC, _file, _row
            ) AS _rank
            FROM (SELECT * RENAME (file_row_number AS _row) FROM {scan})
        )
    """


@pytest.fixture
def legacy_writer(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``land`` and ``lakeviews.connect`` as they were: one catalog file per delivery."""

    def old_commit(
        store: LakeStore, table: pa.Table, *, migrating: bool = False, loaded: object = None
    ) -> int:
        macro = table.column("macroprocesso")[0].as_py()
        period = table.column("periodicidade")[0].as_py().isoformat()
        ingested = table.column("ingested_at")[0].as_py()
        key = LakeStore.join(
            _old_catalog_dir(macro, period),
            f"{ingested:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}.parquet",
        )
        old = table.select(CATALOG_SCHEMA.names).cast(CATALOG_SCHEMA)  # partitions: path only
        with store.atomic_path(key) as tmp:
            pq.write_table(old, tmp, compression="zstd")
        return -1

    # On the test's own monkeypatch: ``monkeypatch.undo()`` brings the new code back.
    monkeypatch.setattr(lake_module.catalog_delta, "append", old_commit)
    monkeypatch.setattr(lake_module, "partition_versions", _old_partition_versions)
    monkeypatch.setattr(lakeviews, "_catalog_sql", _old_catalog_sql)
    yield


def _land_history(lake: Path, staging: Path) -> list[dict[str, Any]]:
    """Every kind of landing: new, newer, older late, unchanged, reverted, two tables, PDF."""
    results = []

    def go(label: str, rows: dict[str, list[Any]], minutes: int, nbf: int, **conf: Any) -> None:
        tables = [stage(staging, "", rows)] if rows else []
        results.append(
            land(
                tables,
                make_conf(notification_id=f"n-{label}-{minutes}", token_nbf=nbf, **conf),
                make_download(label),
                lake_root=lake,
                run_id=f"r{minutes}",
                now=T0 + timedelta(minutes=minutes),
            )
        )

    go("A", {"mw": [1.0, 2.0], "tag": ["a", "a"]}, 1, NBF)
    go("B", {"mw": [3.0], "tag": ["b"]}, 2, NBF + 3600)
    go("old", {"mw": [0.5], "tag": ["old"]}, 3, NBF - 3600)
    go("B", {"mw": [3.0], "tag": ["b"]}, 4, NBF + 7200)  # unchanged
    go("A", {"mw": [1.0, 2.0], "tag": ["a", "a"]}, 5, NBF + 9000)  # reverted
    go("C", {"mw": [7.0, 8.0, 9.0], "tag": ["c"] * 3}, 6, NBF, periodicidade_date=NEXT_DAY)
    go("D", {"mw": [4.0]}, 7, NBF, dataset="outra", periodicidade_date="2025-05-02")
    go("pdf", {}, 8, NBF, dataset="relatorio")
    return results


QUESTIONS = [
    "SELECT * EXCLUDE (ingestion_id) FROM catalog ORDER BY ingested_at, dataset",
    "SELECT ingestion_id, is_current FROM catalog ORDER BY ingestion_id",
    "SELECT * FROM datasets ORDER BY name",
    "SELECT * FROM carga ORDER BY periodicidade, mw",
    "SELECT * FROM carga_history ORDER BY periodicidade, src_version, mw",
    "SELECT * FROM outra ORDER BY mw",
    f"SELECT tag, mw FROM carga_as_of(TIMESTAMPTZ '{T0 + timedelta(minutes=3, seconds=30)}') "
    "ORDER BY tag, mw",
    "DESCRIBE catalog",
]


def _answers(lake: Path) -> list[list[tuple[Any, ...]]]:
    with lakeviews.connect(lake) as con:
        return [con.execute(sql).fetchall() for sql in QUESTIONS]


def _listing(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_lake_made_by_the_old_code_answers_the_same_after_migration(
    tmp_path: Path, legacy_writer: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, staging = tmp_path / "lake", tmp_path / "staging"
    results = _land_history(lake, staging)
    assert [d["outcome"] for r in results for d in r["datasets"]] == [
        "new",
        "new",
        "older",
        "unchanged",
        "reverted",
        "new",
        "new",
    ]
    old_files = sorted((lake / "catalog" / "ingestions").rglob("*.parquet"))
    assert len(old_files) == 8 and not (lake / "catalog" / "delta").exists()
    before = _answers(lake)
    assert len(before[0]) == 8 and before[3]  # the old views answer
    data_before = {k: v for k, v in _listing(lake).items() if not k.startswith("catalog/")}

    monkeypatch.undo()  # the new code from here on
    # The new code refuses the unmigrated lake rather than show it empty.
    with pytest.raises(catalog_delta.LegacyCatalogError, match=r"sintegre\.cli\.lake_migrate"):
        lakeviews.connect(lake)
    # ... and so does a landing, even a raw-only one that decides nothing.
    for tables in ([stage(staging, "", {"mw": [1.0]})], []):
        with pytest.raises(catalog_delta.LegacyCatalogError, match=r"sintegre\.cli\.lake_migrate"):
            land(
                tables,
                make_conf(notification_id="n-refused", dataset="relatorio"),
                make_download("refused"),
                lake_root=lake,
                run_id="r-refused",
            )
    assert not (lake / "catalog" / "delta").exists()

    report = migrate(lake)

    assert report.as_dict() == {
        "files": 8,
        "rows": 8,
        "appended": 8,
        "partitions": 3,
        "moved": 8,
        "table_version": 0,
        # The table the migration made is in today's column order: nothing to rewrite.
        "reordered_rows": 0,
    }
    assert _answers(lake) == before
    # history/, curated/ and raw/ are untouched; the old files moved aside, none deleted.
    assert {k: v for k, v in _listing(lake).items() if not k.startswith("catalog/")} == data_before
    assert not (lake / "catalog" / "ingestions").exists()
    moved = sorted((lake / MIGRATED_PREFIX).rglob("*.parquet"))
    assert [p.name for p in moved] == [p.name for p in old_files]
    # A landing after the migration decides from the migrated catalog: B again is unchanged.
    again = land(
        [stage(staging, "", {"mw": [3.0], "tag": ["b"]})],
        make_conf(notification_id="n-again", token_nbf=NBF + 9500),
        make_download("B"),
        lake_root=lake,
        run_id="r-again",
        now=T0 + timedelta(minutes=20),
    )
    assert again["datasets"][0]["outcome"] == "reverted"  # B's bytes, newest delivery
    assert again["catalog_version"] == 1
    # Running it again is a no-op.
    assert migrate(lake).files == 0


def test_a_migration_interrupted_after_its_commit_resumes_without_duplicates(
    tmp_path: Path, legacy_writer: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, staging = tmp_path / "lake", tmp_path / "staging"
    _land_history(lake, staging)
    before = _answers(lake)
    monkeypatch.undo()
    first = migrate(lake, keep=True)  # as if it died before moving the files
    assert (first.appended, first.moved) == (8, 0)
    second = migrate(lake)
    assert (second.appended, second.moved, second.table_version) == (0, 8, 0)
    assert _answers(lake) == before


def test_a_migration_that_does_not_verify_moves_nothing(
    tmp_path: Path, legacy_writer: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, staging = tmp_path / "lake", tmp_path / "staging"
    _land_history(lake, staging)
    monkeypatch.undo()
    real_append = catalog_delta.append

    def lossy(store: LakeStore, table: pa.Table, *, migrating: bool = False) -> int:
        return real_append(store, table.slice(1), migrating=migrating)  # drops a row

    monkeypatch.setattr(catalog_delta, "append", lossy)
    with pytest.raises(MigrationError, match="differ"):
        migrate(lake)
    assert len(list((lake / "catalog" / "ingestions").rglob("*.parquet"))) == 8


def test_the_command_migrates_and_prints_its_report(
    tmp_path: Path, legacy_writer: None, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    lake, staging = tmp_path / "lake", tmp_path / "staging"
    _land_history(lake, staging)
    monkeypatch.undo()
    assert main([str(lake), "--keep"]) == 0
    assert '"appended": 8' in capsys.readouterr().out
    assert len(list((lake / "catalog" / "ingestions").rglob("*.parquet"))) == 8
    assert catalog_delta.exists(open_store(lake))


def _old_order_schema() -> pa.Schema:
    """The catalog table's schema before its columns were reordered (and had comments)."""
    return pa.schema(
        [
            *CATALOG_SCHEMA,
            pa.field("macroprocesso", pa.string()),
            pa.field("periodicidade", pa.date32()),
            pa.field("periodo_mes", pa.string()),
        ]
    )


def _data_file_columns(table: Any) -> list[list[str]]:
    """The column order of each live data file of a (local) table."""
    return [pq.read_schema(uri).names for uri in table.file_uris()]


def test_a_table_in_the_old_column_order_is_rewritten_in_todays_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """A catalog table made before the reorder: the command rewrites it in one commit, every
    answer the same, every file in today's order, the version before still readable; run
    again, it does nothing."""
    lake, staging = tmp_path / "lake", tmp_path / "staging"
    with monkeypatch.context() as patch:
        patch.setattr(catalog_delta, "delta_schema", _old_order_schema)
        _land_history(lake, staging)
    store = open_store(lake)
    before_table = catalog_delta.open_table(store)
    assert not catalog_delta.in_table_order(before_table)
    assert all(n[0] == "ingestion_id" for n in _data_file_columns(before_table))
    before = _answers(lake)
    before_version = before_table.version()
    before_rows = before_table.to_pyarrow_table().sort_by("ingestion_id")

    assert main([str(lake)]) == 0
    report = capsys.readouterr().out
    assert '"reordered_rows": 8' in report and f'"table_version": {before_version + 1}' in report
    after_table = catalog_delta.open_table(store)
    assert catalog_delta.in_table_order(after_table)
    trailing = list(catalog_delta.TRAILING_COLUMNS)
    files = _data_file_columns(after_table)
    assert files and all(n[-len(trailing) :] == trailing for n in files)
    comments = {f.name: f.metadata.get("comment") for f in after_table.schema().fields}
    assert comments["delivered_at"] == catalog_delta.COLUMN_COMMENTS["delivered_at"]
    assert _answers(lake) == before
    # Time travel: the version before the rewrite still reads as it did.
    old = catalog_delta.open_table(store, before_version).to_pyarrow_table()
    assert old.sort_by("ingestion_id").to_pylist() == before_rows.to_pylist()
    # Landings after it write today's order; a second run has nothing to do.
    land(
        [stage(staging, "", {"mw": [5.0], "tag": ["e"]})],
        make_conf(notification_id="n-after", token_nbf=NBF + 20000),
        make_download("after"),
        lake_root=lake,
        run_id="r-after",
        now=T0 + timedelta(minutes=30),
    )
    files = _data_file_columns(catalog_delta.open_table(store))
    assert all(n[-len(trailing) :] == trailing for n in files)
    assert migrate(lake).reordered_rows == 0
    # The verification's sums see a row more (the landing's partition, and only it).
    from sintegre.lake.migrate import _table_checksums

    rewritten = _table_checksums(store, before_version + 1)
    newest = _table_checksums(store, catalog_delta.open_table(store).version())
    changed = [p for p in newest if newest[p] != rewritten.get(p)]
    assert len(changed) == 1 and newest[changed[0]][0] == rewritten[changed[0]][0] + 1


def test_a_reorder_that_does_not_verify_says_which_version_to_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sintegre.lake import migrate as migrate_module

    lake, staging = tmp_path / "lake", tmp_path / "staging"
    with monkeypatch.context() as patch:
        patch.setattr(catalog_delta, "delta_schema", _old_order_schema)
        _land_history(lake, staging)
    version = catalog_delta.open_table(open_store(lake)).version()
    sums = iter([{("m", "2025-04-29"): (1, "a")}, {("m", "2025-04-29"): (1, "b")}])
    monkeypatch.setattr(migrate_module, "_table_checksums", lambda store, v: next(sums))
    with pytest.raises(MigrationError, match=f"restore version {version} of the catalog table"):
        migrate(lake)


def test_a_commit_during_the_reorder_fails_it_and_leaves_the_table_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compaction committed between the rewrite's snapshot and its commit: without the
    overwrite's read predicate delta-rs committed both and every row was there twice; now the
    rewrite is refused, the table keeps each row once, and a second run succeeds."""
    from sintegre.lake import migrate as migrate_module

    lake, staging = tmp_path / "lake", tmp_path / "staging"
    with monkeypatch.context() as patch:
        patch.setattr(catalog_delta, "delta_schema", _old_order_schema)
        _land_history(lake, staging)
    store = open_store(lake)
    rows = catalog_delta.open_table(store).to_pyarrow_table().num_rows
    real = migrate_module._table_checksums
    calls = []

    def compact_meanwhile(store_: LakeStore, version: int) -> Any:
        if not calls:
            catalog_delta.open_table(store_).optimize.compact()
        calls.append(version)
        return real(store_, version)

    monkeypatch.setattr(migrate_module, "_table_checksums", compact_meanwhile)
    with pytest.raises(MigrationError, match="changed during the column reorder"):
        migrate(lake)
    table = catalog_delta.open_table(store)
    assert table.to_pyarrow_table().num_rows == rows
    assert not catalog_delta.in_table_order(table)
    report = migrate(lake)
    assert report.reordered_rows == rows
    assert catalog_delta.open_table(store).to_pyarrow_table().num_rows == rows
