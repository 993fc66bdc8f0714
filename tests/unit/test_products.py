"""The product catalog: every documented product, every observed spelling, arrival deadlines."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from sintegre.catalog.products import (
    DEFAULT_PATH,
    ENTRIES_DIR,
    Catalog,
    Product,
    expected_by,
    load_catalog,
    normalise_name,
)
from sintegre.core.slugs import slugify

SAMPLES_PATH = Path(__file__).resolve().parents[1] / "data" / "sintegre-payloads.sample.json"
BRT = timezone(timedelta(hours=-3))  # Brasília has had no DST since 2019

# docs/SINTEGRE-FACTS.md §3, copied by hand: (id, name exactly as sent, granularity).
FACTS_PRODUCTS = [
    (155, "IPDO (Informativo Preliminar Diário da Operação)", "daily"),
    (230, "Acomph", "daily"),
    (233, "RDH", "daily"),
    (234, "Relatório de Acompanhamento Hidrológico", "daily"),
    (551, "Modelo ECMWF", "daily"),
    (549, "Modelo ETA", "daily"),
    (550, "Modelo GEFS", "daily"),
    (487, "Precipitação por Satélite", "daily"),
    (238, "Arquivos dos modelos de previsão de vazões diárias - PDP", "daily"),
    (548, "Relatório dos resultados finais consistidos da previsão diária (PDP)", "daily"),
    (275, "Arquivos de Previsão de Carga para o DESSEM", "daily"),
    (479, "Arquivos de Previsão de Carga para o DESSEM - PrevCargaDESSEM", "daily"),
    (785, "DECKS DA PREVISÃO DE GERAÇÃO EÓLICA SEMANAL WEOL-SM", "daily"),
    (228, "Carga por patamar - DECOMP", "weekly"),
    (246, "Resultados preliminares não consistidos  (vazões semanais - PMO)", "weekly"),
    (229, "Previsões de carga mensal e por patamar - NEWAVE", "monthly"),
    (287, "Deck NEWAVE Preliminar", "monthly"),
    (286, "DECK NEWAVE DEFINITIVO", "monthly"),
    (288, "Notas Técnicas - Medio Prazo", "monthly"),
    (302, "Relatório Mensal de Limites de Intercâmbio para o Modelo DECOMP", "monthly"),
]


def _samples() -> list[dict[str, Any]]:
    return json.loads(SAMPLES_PATH.read_text(encoding="utf-8"))


def _claim_id(sample: dict[str, Any]) -> int:
    match = re.search(r"/Produtos/(\d+)/", sample["token_claims"]["URL"])
    assert match, sample["token_claims"]["URL"]
    return int(match.group(1))


def _period_start(data_produto: str) -> date:
    """First day of a ``dataProduto`` label (daily, weekly or monthly shape)."""
    first = data_produto.split(" - ")[0]
    parts = [int(p) for p in first.split("/")]
    if len(parts) == 2:
        return date(parts[1], parts[0], 1)
    return date(parts[2], parts[1], parts[0])


def _product(catalog: Catalog, product_id: int) -> Product:
    product = catalog.by_id(product_id)
    assert product is not None, product_id
    return product


def _id_of(product: Product | None) -> int | None:
    return None if product is None else product.id


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.mark.parametrize(("product_id", "name", "granularity"), FACTS_PRODUCTS)
def test_every_facts_product_is_present(
    catalog: Catalog, product_id: int, name: str, granularity: str
) -> None:
    product = catalog.by_id(product_id)
    assert product is not None
    assert product.name == name
    assert product.granularity == granularity


def test_catalog_has_the_facts_products_and_the_two_seen_in_samples(catalog: Catalog) -> None:
    ids = {product.id for product in catalog.products}
    # 243 and 245 are not in §3 but arrive in the sample notifications.
    assert ids == {entry[0] for entry in FACTS_PRODUCTS} | {243, 245}


def test_dag_id_and_dataset_are_the_slug_of_the_name(catalog: Catalog) -> None:
    for product in catalog.products:
        assert product.dataset == slugify(product.name), product.id
        assert product.dag_id == f"sintegre__{product.dataset}", product.id
    ipdo = catalog.by_id(155)
    assert ipdo is not None
    assert ipdo.dag_id == "sintegre__ipdo_informativo_preliminar_diario_da_operacao"
    assert _product(catalog, 246).dataset == (
        "resultados_preliminares_nao_consistidos_vazoes_semanais_pmo"
    )


def test_some_fields_by_hand(catalog: Catalog) -> None:
    acomph = catalog.by_id(230)
    assert acomph is not None
    assert acomph.processo == "Acompanhamento das Condições Hidroenergéticas"
    assert acomph.macro_processo == "Programação da Operação"
    assert acomph.file_pattern == "ACOMPH_dd.mm.yyyy.xls"
    assert acomph.format == "xls"
    deck = catalog.by_id(287)
    assert deck is not None
    assert deck.format == "folder-zip"
    weol = catalog.by_id(785)
    assert weol is not None
    assert weol.macro_processo == "Planejamento da Operação"
    assert weol.arrival.day_offset == 1


def test_sample_file_has_26_notifications() -> None:
    assert len(_samples()) == 26


@pytest.mark.parametrize("index", range(26))
def test_sample_nome_resolves_to_its_token_product(catalog: Catalog, index: int) -> None:
    sample = _samples()[index]
    product = catalog.by_name(sample["payload"]["nome"])
    assert product is not None, sample["payload"]["nome"]
    assert product.id == _claim_id(sample)
    # The token's nomeProduto (where "DEFINITIUO" was seen) must route the same way.
    assert catalog.by_name(sample["token_claims"]["nomeProduto"]) is product


@pytest.mark.parametrize(
    ("name", "product_id"),
    [
        ("Precipitação por Satélite.", 487),
        ("Precipitação por Satélite – ONS", 487),
        ("Precipitação por Satélite - ONS", 487),
        ("PRECIPITAÇÃO POR SATÉLITE", 487),
        ("Precipitacao por Satelite", 487),
        ("Resultados preliminares não consistidos (vazões semanais - PMO)", 246),
        ("Resultados preliminares não consistidos  (vazões semanais - PMO)", 246),
        ("Resultados preliminares não consistidos  (vazões semanais – PMO)", 246),
        ("DECK NEWAVE DEFINITIUO", 286),
        ("Deck NEWAVE Definitivo", 286),
        ("Carga por patamar – DECOMP", 228),
        ("Carga por patamar — DECOMP.", 228),
        ("  acomph  ", 230),
        ("IPDO (Informativo Preliminar Diário da Operação)", 155),
    ],
)
def test_name_hazards_resolve(catalog: Catalog, name: str, product_id: int) -> None:
    product = catalog.by_name(name)
    assert product is not None, name
    assert product.id == product_id


def test_consistidos_and_nao_consistidos_stay_apart(catalog: Catalog) -> None:
    consistidos = "Resultados preliminares consistidos (vazões semanais - PMO)"
    nao_consistidos = "Resultados preliminares não consistidos (vazões semanais - PMO)"
    assert _id_of(catalog.by_name(consistidos)) == 245
    assert _id_of(catalog.by_name(nao_consistidos)) == 246


@pytest.mark.parametrize("name", ["Produto Inexistente", "", "ONS", "Precipitação", "Deck NEWAVE"])
def test_unknown_name_is_none(catalog: Catalog, name: str) -> None:
    assert catalog.by_name(name) is None


def test_by_id_unknown_or_missing_is_none(catalog: Catalog) -> None:
    assert catalog.by_id(None) is None
    assert catalog.by_id(999_999) is None


def test_lookup_prefers_id_then_name(catalog: Catalog) -> None:
    assert _id_of(catalog.lookup(155, "Acomph")) == 155
    assert _id_of(catalog.lookup(None, "Acomph")) == 230
    # An id not in the catalog yet (a new product) still routes by name.
    assert _id_of(catalog.lookup(999_999, "Acomph")) == 230
    assert catalog.lookup(None, "Produto Inexistente") is None
    assert catalog.lookup(999_999, "Produto Inexistente") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Precipitação por Satélite.", "precipitacao por satelite"),
        ("Precipitação por Satélite – ONS", "precipitacao por satelite"),
        ("Precipitação por Satélite. – ONS.", "precipitacao por satelite"),
        ("Carga  por\tpatamar — DECOMP", "carga por patamar - decomp"),
        (
            "IPDO (Informativo Preliminar Diário da Operação)",
            "ipdo (informativo preliminar diario da operacao)",
        ),
        ("...", ""),
    ],
)
def test_normalise_name(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


def test_default_catalog_is_cached() -> None:
    assert load_catalog() is load_catalog()
    # An explicit path is read afresh, and the packaged file gives an equal catalog.
    assert load_catalog(ENTRIES_DIR) == load_catalog()


# ---- expected_by: deadlines written by hand ---------------------------------------------------


def test_expected_by_ipdo_is_next_day(catalog: Catalog) -> None:
    # IPDO of 29/04 arrives on 30/04, window 09:35-09:50, margin 60 min.
    deadline = expected_by(_product(catalog, 155), date(2025, 4, 29))
    assert deadline == datetime(2025, 4, 30, 10, 50, tzinfo=BRT)
    assert deadline.utcoffset() == timedelta(hours=-3)
    assert str(deadline.tzinfo) == "America/Sao_Paulo"


def test_expected_by_same_day_and_negative_offset(catalog: Catalog) -> None:
    # Acomph 11:15-11:50 + 60 min, same day.
    assert expected_by(_product(catalog, 230), date(2025, 4, 29)) == datetime(
        2025, 4, 29, 12, 50, tzinfo=BRT
    )
    # PDP report labelled with its target day D+2: the one for 09/10 is due on 07/10.
    assert expected_by(_product(catalog, 548), date(2025, 10, 9)) == datetime(
        2025, 10, 7, 17, 0, tzinfo=BRT
    )


def test_expected_by_weekly_is_thursday_before_the_week(catalog: Catalog) -> None:
    # Week Saturday 26/04/2025 .. Friday 02/05: last allowed day Thursday 24/04, 23:59 + 120 min.
    deadline = expected_by(_product(catalog, 228), date(2025, 4, 26))
    assert deadline == datetime(2025, 4, 25, 1, 59, tzinfo=BRT)


def test_expected_by_monthly_is_fifth_day_after_the_first(catalog: Catalog) -> None:
    # August 2025: 1st + 5 days = 06/08, 23:59 + 120 min.
    product = _product(catalog, 229)
    assert expected_by(product, date(2025, 8, 1)) == datetime(2025, 8, 7, 1, 59, tzinfo=BRT)
    # Any day of the month stands for the month.
    assert expected_by(product, date(2025, 8, 20)) == datetime(2025, 8, 7, 1, 59, tzinfo=BRT)


def test_expected_by_margin_is_elapsed_time_across_old_dst(catalog: Catalog) -> None:
    # Brasília DST (abolished in 2019) ended at 2018-02-18 00:00 -02:00, clocks back to 23:00.
    # RDH of 17/02/2018: 23:59 (first pass, -02:00) + 120 elapsed minutes = 00:59 -03:00, where
    # wall-clock arithmetic would give 01:59 -03:00, an hour too late.
    deadline = expected_by(_product(catalog, 233), date(2018, 2, 17))
    assert deadline == datetime(2018, 2, 18, 0, 59, tzinfo=BRT)
    assert deadline.utcoffset() == timedelta(hours=-3)


@pytest.mark.parametrize("index", range(26))
def test_every_sample_arrived_by_its_deadline(catalog: Catalog, index: int) -> None:
    """The windows agree with the real arrival instants (token ``nbf``)."""
    sample = _samples()[index]
    product = _product(catalog, _claim_id(sample))
    arrived = datetime.fromtimestamp(sample["token_claims"]["nbf"], tz=BRT)
    assert arrived <= expected_by(product, _period_start(sample["payload"]["dataProduto"]))


# ---- load_catalog on broken files ----------------------------------------------------------


def _entries() -> list[dict[str, Any]]:
    """Every entry of the packaged catalog (the main file, then products.d/ in name order)."""
    files = [DEFAULT_PATH, *sorted(ENTRIES_DIR.glob("*.yaml"))]
    return [e for f in files for e in yaml.safe_load(f.read_text(encoding="utf-8"))["products"]]


def _write(tmp_path: Path, entries: list[dict[str, Any]]) -> Path:
    path = tmp_path / "products.yaml"
    path.write_text(yaml.safe_dump({"products": entries}, allow_unicode=True), encoding="utf-8")
    return path


def test_a_valid_copy_loads(tmp_path: Path) -> None:
    assert load_catalog(_write(tmp_path, _entries())) == load_catalog()


def test_duplicate_id_names_the_entry(tmp_path: Path) -> None:
    entries = _entries()
    acomph = next(e for e in entries if e["id"] == 230)
    clone = dict(acomph, name="Acomph Bis", aliases=[], dag_id="sintegre__x", dataset="x")
    entries.append(clone)
    with pytest.raises(ValueError, match=r"duplicate id 230") as raised:
        load_catalog(_write(tmp_path, entries))
    message = str(raised.value)
    assert "'Acomph Bis'" in message
    assert "'Acomph'" in message
    assert "products.yaml" in message


def test_alias_shared_by_two_products_is_refused(tmp_path: Path) -> None:
    entries = _entries()
    entries[0]["aliases"] = ["ACOMPH."]
    with pytest.raises(ValueError, match=r"'acomph', already used by product 155"):
        load_catalog(_write(tmp_path, entries))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"granularity": "hourly"},
            r"entry #1 \(id 155, .*granularity must be 'daily', .* got 'hourly'",
        ),
        ({"format": "docx"}, r"format must be 'pdf', .* or 'folder-zip', got 'docx'"),
        ({"id": "155"}, r"id must be a valid integer, got '155'"),
        ({"dag_id": "sintegre__other"}, r"dag_id 'sintegre__other' must be"),
        ({"colour": "blue"}, r"unknown key\(s\) colour"),
        ({"arrival": {"start": 575, "end": "09:50", "margin_minutes": 60}}, r"quote the time"),
        ({"arrival": {"start": "09:50", "end": "09:35", "margin_minutes": 60}}, r"before start"),
        ({"arrival": {"start": "24:00", "end": "09:35", "margin_minutes": 60}}, r'"HH:MM"'),
        (
            {"arrival": {"start": "09:35", "end": "09:50", "margin_minutes": 60, "weekdays": [2]}},
            r"daily product needs no weekdays",
        ),
    ],
)
def test_bad_entry_names_it(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    entries = _entries()
    entries[0].update(change)
    with pytest.raises(ValueError, match=message):
        load_catalog(_write(tmp_path, entries))


def test_a_nested_typo_names_the_product_and_the_table(tmp_path: Path) -> None:
    entries = _entries()
    acomph = next(e for e in entries if e["id"] == 230)
    acomph["arrival"]["day_ofset"] = 1
    acomph["tables"][0]["parse"]["delimitr"] = ";"
    with pytest.raises(ValueError) as raised:
        load_catalog(_write(tmp_path, entries))
    message = str(raised.value)
    assert "(id 230, 'Acomph'): arrival: unknown key(s) day_ofset" in message
    table = acomph["tables"][0]["name"]
    assert f"(id 230, 'Acomph'): tables[0] (table {table!r}).parse: unknown key(s) delimitr" in (
        message
    )


def test_weekly_without_weekdays_is_refused(tmp_path: Path) -> None:
    entries = _entries()
    weekly = next(e for e in entries if e["id"] == 228)
    del weekly["arrival"]["weekdays"]
    with pytest.raises(ValueError, match=r"id 228.*weekly product needs weekdays"):
        load_catalog(_write(tmp_path, entries))


def test_invalid_yaml_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "products.yaml"
    path.write_text("products: [\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_catalog(path)
