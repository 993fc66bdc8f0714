"""Catalog table specs, stable table names and routing by the catalog."""

from __future__ import annotations

import json
import re
from datetime import date

import pyarrow as pa
import pytest

from helpers.webhook import make_payload, ons_url
from sintegre.catalog.products import load_catalog
from sintegre.catalog.spec import TableSpec, table_spec_from_mapping
from sintegre.intake.notification import normalize
from sintegre.intake.routing import route
from sintegre.readers.assemble import assemble, stable_name
from sintegre.readers.errors import LayoutMismatch
from sintegre.readers.model import ParsedTable


@pytest.mark.parametrize(
    ("raw", "stable"),
    [
        ("Carga_Mensal_11_2026_SE", "carga_mensal_se"),
        ("RV2_PMO_Agosto_2025_carga_semanal", "pmo_carga_semanal"),
        ("Diária_6", "diaria"),
        ("psat_01032024", "psat"),
        ("Março", ""),
        ("CargaDESSEM_SE", "cargadessem_se"),
    ],
)
def test_stable_name_drops_dates_numbers_and_months(raw: str, stable: str) -> None:
    assert stable_name(raw) == stable


def _leaf(member: str, columns: dict[str, list], sheet: str = "") -> ParsedTable:
    table = pa.table(columns)
    return ParsedTable("", table, member, [c.upper() for c in table.column_names], sheet=sheet)


def test_catalogued_leaves_of_one_layout_land_in_one_table_with_extracted_columns() -> None:
    spec = table_spec_from_mapping(
        {
            "name": "carga",
            "match": ["*.csv"],
            "extract": r"_(?P<subsistema>[A-Z]+)\.csv$",
            "columns": [{"name": "data", "type": "date"}, {"name": "carga", "unit": "MWmed"}],
        },
        "test",
    )
    leaves = [
        _leaf("Blocos/Carga_SE.csv", {"data": [date(2025, 1, 1)], "carga": [100]}),
        _leaf("Blocos/Carga_NE.csv", {"data": [date(2025, 1, 1)], "carga": [50.5]}),
    ]

    (table,) = assemble(leaves, [spec], file_name="Blocos_2025-01-01.zip")

    assert table.name == "carga"
    assert table.drift is None
    assert table.table.schema.field("carga").type == pa.float64()  # int + float → float
    assert table.table.to_pylist() == [
        {
            "data": date(2025, 1, 1),
            "carga": 100.0,
            "source_member": "Blocos/Carga_SE.csv",
            "subsistema": "SE",
        },
        {
            "data": date(2025, 1, 1),
            "carga": 50.5,
            "source_member": "Blocos/Carga_NE.csv",
            "subsistema": "NE",
        },
    ]
    assert table.source_member == "Blocos"
    assert table.original_columns == ["DATA", "CARGA", "", ""]


def test_a_new_column_is_drift_that_lands() -> None:
    spec = table_spec_from_mapping(
        {"name": "", "match": ["*.csv"], "columns": [{"name": "data"}, {"name": "carga"}]}, "t"
    )
    leaf = _leaf("", {"data": [1], "carga": [2], "carga_mmgd": [3]})
    (table,) = assemble([leaf], [spec], file_name="x.csv")
    assert table.drift == {"missing": [], "unexpected": ["carga_mmgd"]}
    assert table.table.num_rows == 1


def test_a_missing_required_column_is_a_layout_mismatch() -> None:
    spec = table_spec_from_mapping(
        {"name": "", "match": ["*.csv"], "columns": [{"name": "data"}, {"name": "carga"}]}, "t"
    )
    with pytest.raises(
        LayoutMismatch, match=r"'x.csv'.*expected the catalogued column\(s\) \['carga'\]"
    ):
        assemble([_leaf("", {"data": [1], "carga_mwmed": [2]})], [spec], file_name="x.csv")


def test_an_optional_column_may_be_absent() -> None:
    spec = table_spec_from_mapping(
        {
            "name": "",
            "match": ["*.csv"],
            "columns": [{"name": "data"}, {"name": "exp_mmgd", "type": "float", "required": False}],
        },
        "t",
    )
    (table,) = assemble([_leaf("", {"data": [1]})], [spec], file_name="x.csv")
    assert table.drift is None


def test_text_in_a_numeric_column_is_a_layout_mismatch_not_a_text_column() -> None:
    spec = table_spec_from_mapping(
        {"name": "c", "match": ["*.csv"], "columns": [{"name": "carga", "type": "float"}]}, "t"
    )
    with pytest.raises(LayoutMismatch, match=r"column 'carga' as float.*string.*'SUDESTE'"):
        assemble([_leaf("", {"carga": ["SUDESTE", "12"]})], [spec], file_name="x.csv")


def test_values_outside_the_plausible_range_land_and_are_counted() -> None:
    spec = table_spec_from_mapping(
        {
            "name": "c",
            "match": ["*.csv"],
            "columns": [{"name": "mm", "type": "float", "range": [0, 500]}],
        },
        "t",
    )
    (table,) = assemble(
        [_leaf("", {"mm": [1.0, -2.0, 501.0, None, 500.0]})], [spec], file_name="x.csv"
    )
    assert table.implausible == {"mm": 2}
    assert table.table.num_rows == 5


def test_an_uncatalogued_member_is_its_own_table_flagged_never_mixed_in() -> None:
    spec = table_spec_from_mapping({"name": "carga", "match": ["*/carga_*.csv"]}, "t")
    leaves = [
        _leaf("d/carga_SE.csv", {"data": [1]}),
        _leaf("d/carga.csv", {"data": [2]}),
    ]
    tables = assemble(leaves, [spec], file_name="d.zip")
    by_name = {t.name: t for t in tables}
    assert by_name["carga"].catalogued and by_name["carga"].table.num_rows == 1
    extra = by_name["carga_extra"]
    assert not extra.catalogued
    assert extra.drift == {"missing": [], "unexpected": [], "uncatalogued": ["d/carga.csv"]}


def test_mixed_types_across_leaves_become_text_without_losing_values() -> None:
    leaves = [
        _leaf("a/x_1.csv", {"codigo": [1]}),
        _leaf("a/x_2.csv", {"codigo": ["0012"]}),
    ]
    (table,) = assemble(leaves, [], file_name="a.zip")
    assert table.table["codigo"].to_pylist() == ["1", "0012"]


def test_sheets_of_one_layout_are_one_generic_table_others_stay_apart() -> None:
    leaves = [
        _leaf("Grande", {"data": [1], "vazao": [2.0]}, sheet="Grande"),
        _leaf("Paranaíba", {"data": [3], "vazao": [4.0]}, sheet="Paranaíba"),
        _leaf("Notas", {"nota": ["x"]}, sheet="Notas"),
    ]
    tables = assemble(leaves, [], file_name="ACOMPH_01.01.2025.xls")
    assert [t.name for t in tables] == ["table", "notas"]
    assert tables[0].table["sheet"].to_pylist() == ["Grande", "Paranaíba"]


def test_bad_specs_are_refused_with_the_place_named() -> None:
    with pytest.raises(ValueError, match=r"here \(table 'x'\).*unknown key\(s\) delimitr"):
        table_spec_from_mapping({"name": "x", "match": ["*"], "parse": {"delimitr": ";"}}, "here")
    with pytest.raises(ValueError, match="named groups"):
        table_spec_from_mapping({"name": "x", "match": ["*"], "extract": "(\\d+)"}, "here")
    with pytest.raises(ValueError, match="match needs"):
        table_spec_from_mapping({"name": "x", "match": []}, "here")
    spec = table_spec_from_mapping(
        {
            "name": "dat",
            "match": ["*.dat"],
            "parse": {
                "delimiter": "whitespace",
                "fixed_width": [{"name": "codigo", "start": 0, "end": 6}],
                "wide": {"block_width": 8, "key_column": "posto"},
                "text_columns": ["codigo"],
            },
        },
        "here",
    )
    assert spec.parse.delimiter == " " and spec.parse.wide.block_width == 8
    assert isinstance(spec, TableSpec) and spec.matches("ECMWF/BACIA.DAT")


def _notification(product_id: int, nome: str):
    body = json.dumps(make_payload(nome=nome, url=ons_url(product_id=product_id))).encode()
    return normalize(body, allowed_hosts=("apps08.ons.org.br",))


@pytest.mark.parametrize(
    ("product_id", "nome", "dag_id", "dataset"),
    [
        (230, "Acomph", "sintegre__acomph", "acomph"),
        # The id wins over a renamed display name.
        (230, "Acomph (novo nome)", "sintegre__acomph", "acomph"),
        # No id known, the name (en dash, trailing dot) still routes.
        (
            9999,
            "Precipitação por Satélite – ONS.",
            "sintegre__precipitacao_por_satelite",
            "precipitacao_por_satelite",
        ),
        (9999, "Produto novo da ONS", "sintegre_generic", "produto_9999"),
    ],
)
def test_route_by_id_then_name_else_generic(product_id, nome, dag_id, dataset) -> None:
    routed = route(_notification(product_id, nome), "sintegre_generic")
    assert routed.dag_id == dag_id
    assert routed.notification.dataset == dataset
    assert re.fullmatch(
        rf"sintegre__{dataset}__\d{{4}}-\d\d-\d\d__[0-9a-f]{{12}}", routed.notification.dag_run_id()
    )
    assert (routed.product is None) == (dag_id == "sintegre_generic")


def test_catalog_products_carry_table_specs_that_load() -> None:
    catalog = load_catalog()
    assert all(isinstance(t, TableSpec) for p in catalog.products for t in p.tables)


# ---- hostile names ------------------------------------------------------------------------


@pytest.mark.drill(
    "#14.9 a nome with a zero-width space or a direction mark routes to its catalogued product"
)
def test_format_characters_are_folded_out_of_product_names() -> None:
    from sintegre.catalog.products import normalise_name

    catalog = load_catalog()
    for hostile in ("Acomph\u200b", "\u200fAcomph", "Ac\u200dom\ufeffph", "Acomph\u2060."):
        assert normalise_name(hostile) == normalise_name("Acomph")
        product = catalog.lookup(None, hostile)
        assert product is not None and product.id == 230


@pytest.mark.drill(
    "#14.9 an uncatalogued name whose slug is a catalogued dataset lands under produto_<slug>"
)
def test_an_uncatalogued_name_never_lands_in_a_catalogued_dataset() -> None:
    from sintegre.intake.routing import uncatalogued_dataset

    catalog = load_catalog()
    # "RDH Usinas" is not a product name, but its slug is the catalog's rdh_usinas table.
    assert uncatalogued_dataset(None, "RDH Usinas", catalog) == "produto_rdh_usinas"
    assert uncatalogued_dataset(None, "Boletim Novo", catalog) == "boletim_novo"
    assert uncatalogued_dataset(812, "RDH Usinas", catalog) == "produto_812"
    for name in catalog.datasets:
        assert uncatalogued_dataset(None, name.replace("_", " "), catalog) not in catalog.datasets


@pytest.mark.drill("#14.8 a 400-character nome: slug capped at 80 characters with a hash suffix")
def test_long_names_make_short_distinct_slugs() -> None:
    from sintegre.core.slugs import slugify

    first = slugify("Relatório " * 40 + "A")
    second = slugify("Relatório " * 40 + "B")
    assert len(first) <= 80 and len(second) <= 80
    assert first != second
    assert first.startswith("relatorio_relatorio_")
    assert slugify("x" * 80) == "x" * 80
