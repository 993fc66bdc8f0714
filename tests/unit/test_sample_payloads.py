"""``normalize`` against the 26 real SINtegre notifications in the shared sample file.

Every expected value below was worked out by hand from the raw payload and its token claims
(docs/SINTEGRE-FACTS.md §1): naive period times are Brasília local time; aware ``...Z`` values
are UTC and are converted to Brasília (UTC-3 all through 2024-2025, no DST since 2019) before
the date is taken, so ``2025-08-01T03:00:00.000Z`` .. ``2025-09-01T02:59:59.000Z`` is 1-31
August. A week is 7 days starting on a Saturday; a month is the 1st to the last day of one
calendar month. None of the expected values is computed with the code under test or a re-
implementation of it.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import jwt
import pytest

from sintegre.intake.notification import normalize

SAMPLE_PATH = Path(
    os.environ.get(
        "SINTEGRE_SAMPLE_PAYLOADS",
        str(Path(__file__).resolve().parents[1] / "data" / "sintegre-payloads.sample.json"),
    )
)
ALLOWED_HOSTS = ("apps08.ons.org.br",)
EXPECTED_COUNT = 26

# The tokens are signed with the short key "test-secret"; PyJWT warns about its length, which
# is moot here (the receiver never verifies ONS's signature).
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

PO = "programacao_da_operacao"
OS_ = "operacao_do_sistema"
D = date

# fmt: off
# (short id, periodicidade, periodicidade_final, granularity, macroprocesso_slug, dataset,
#  product_id, data_produto_shape), one row per entry, in file order.
EXPECTED: list[tuple[str, date, date, str, str, str, int | None, str | None]] = [
    # 0  Previsões de carga mensal e por patamar - NEWAVE, 08/2025 (UTC .000Z)
    ("newave_carga_mensal", D(2025, 8, 1), D(2025, 8, 31), "monthly", PO,
     "previsoes_de_carga_mensal_e_por_patamar_newave", 229, "monthly"),
    # 1  Acomph, 29/04/2025 (UTC .000Z)
    ("acomph", D(2025, 4, 29), D(2025, 4, 29), "daily", PO,
     "acomph", 230, "daily"),
    # 2  Notas Técnicas - Medio Prazo, 05/2025 (UTC .000Z, folder product)
    ("notas_tecnicas", D(2025, 5, 1), D(2025, 5, 31), "monthly", PO,
     "notas_tecnicas_medio_prazo", 288, "monthly"),
    # 3  Relatório dos resultados finais consistidos da previsão diária (PDP), 09/10/2025 (naive)
    ("relatorio_pdp", D(2025, 10, 9), D(2025, 10, 9), "daily", PO,
     "relatorio_dos_resultados_finais_consistidos_da_previsao_diaria_pdp", 548, "daily"),
    # 4  Arquivos de Previsão de Carga para o DESSEM, 13/06/2025 (UTC .000Z)
    ("carga_dessem", D(2025, 6, 13), D(2025, 6, 13), "daily", PO,
     "arquivos_de_previsao_de_carga_para_o_dessem", 275, "daily"),
    # 5  Modelo ECMWF, 24/09/2025 (naive; macroProcesso sent without accents)
    ("ecmwf", D(2025, 9, 24), D(2025, 9, 24), "daily", PO,
     "modelo_ecmwf", 551, "daily"),
    # 6  Previsões de carga mensal e por patamar - NEWAVE, 09/2025 (UTC .000Z)
    ("newave_carga_mensal", D(2025, 9, 1), D(2025, 9, 30), "monthly", PO,
     "previsoes_de_carga_mensal_e_por_patamar_newave", 229, "monthly"),
    # 7  Deck NEWAVE Preliminar, 06/2025 (UTC .000Z, folder product)
    ("deck_newave_preliminar", D(2025, 6, 1), D(2025, 6, 30), "monthly", PO,
     "deck_newave_preliminar", 287, "monthly"),
    # 8  Previsões de carga mensal e por patamar - NEWAVE, 09/2025 (naive)
    ("newave_carga_mensal", D(2025, 9, 1), D(2025, 9, 30), "monthly", PO,
     "previsoes_de_carga_mensal_e_por_patamar_newave", 229, "monthly"),
    # 9  Relatório de Acompanhamento Hidrológico, 06/09/2025 (naive; URL claim has spaces)
    ("acomp_hidrologico", D(2025, 9, 6), D(2025, 9, 6), "daily", PO,
     "relatorio_de_acompanhamento_hidrologico", 234, "daily"),
    # 10 Arquivos dos modelos de previsão de vazões diárias - PDP, 22/07/2024 (naive)
    ("modelos_pdp", D(2024, 7, 22), D(2024, 7, 22), "daily", PO,
     "arquivos_dos_modelos_de_previsao_de_vazoes_diarias_pdp", 238, "daily"),
    # 11 Carga por patamar - DECOMP, Sat 26/04/2025 - Fri 02/05/2025 (UTC .000Z)
    ("carga_decomp", D(2025, 4, 26), D(2025, 5, 2), "weekly", PO,
     "carga_por_patamar_decomp", 228, "weekly"),
    # 12 Resultados preliminares consistidos (vazões semanais - PMO), Sat 25/10 - Fri 31/10/2025
    ("consistido_pmo", D(2025, 10, 25), D(2025, 10, 31), "weekly", PO,
     "resultados_preliminares_consistidos_vazoes_semanais_pmo", 245, "weekly"),
    # 13 Relatório Mensal de Limites de Intercâmbio para o Modelo DECOMP, 08/2025 (naive)
    ("limites_decomp", D(2025, 8, 1), D(2025, 8, 31), "monthly", PO,
     "relatorio_mensal_de_limites_de_intercambio_para_o_modelo_decomp", 302, "monthly"),
    # 14 Deck NEWAVE Preliminar, 07/2025 (naive, folder product)
    ("deck_newave_preliminar", D(2025, 7, 1), D(2025, 7, 31), "monthly", PO,
     "deck_newave_preliminar", 287, "monthly"),
    # 15 Carga por patamar - DECOMP, Sat 06/09/2025 - Fri 12/09/2025 (UTC .000Z)
    ("carga_decomp", D(2025, 9, 6), D(2025, 9, 12), "weekly", PO,
     "carga_por_patamar_decomp", 228, "weekly"),
    # 16 Resultados preliminares não consistidos  (vazões semanais - PMO) (two spaces),
    #    Sat 03/05/2025 - Fri 09/05/2025 (UTC .000Z)
    ("nao_consistido_pmo", D(2025, 5, 3), D(2025, 5, 9), "weekly", PO,
     "resultados_preliminares_nao_consistidos_vazoes_semanais_pmo", 246, "weekly"),
    # 17 Notas Técnicas - Medio Prazo, 10/2025 (naive, folder product)
    ("notas_tecnicas", D(2025, 10, 1), D(2025, 10, 31), "monthly", PO,
     "notas_tecnicas_medio_prazo", 288, "monthly"),
    # 18 Precipitação por Satélite. (trailing dot), 24/02/2025 (naive)
    ("psat", D(2025, 2, 24), D(2025, 2, 24), "daily", PO,
     "precipitacao_por_satelite", 487, "daily"),
    # 19 Relatório Mensal de Limites de Intercâmbio para o Modelo DECOMP, 05/2025
    #    (UTC .000Z, folder product)
    ("limites_decomp", D(2025, 5, 1), D(2025, 5, 31), "monthly", PO,
     "relatorio_mensal_de_limites_de_intercambio_para_o_modelo_decomp", 302, "monthly"),
    # 20 DECK NEWAVE DEFINITIVO, 08/2025 (UTC .000Z; nomeProduto misspelt "DEFINITIUO")
    ("deck_newave_definitivo", D(2025, 8, 1), D(2025, 8, 31), "monthly", PO,
     "deck_newave_definitivo", 286, "monthly"),
    # 21 Relatório dos resultados finais consistidos da previsão diária (PDP), 07/11/2025 (naive)
    ("relatorio_pdp", D(2025, 11, 7), D(2025, 11, 7), "daily", PO,
     "relatorio_dos_resultados_finais_consistidos_da_previsao_diaria_pdp", 548, "daily"),
    # 22 IPDO (Informativo Preliminar Diário da Operação), 28/08/2025 (naive)
    ("ipdo", D(2025, 8, 28), D(2025, 8, 28), "daily", OS_,
     "ipdo_informativo_preliminar_diario_da_operacao", 155, "daily"),
    # 23 IPDO (Informativo Preliminar Diário da Operação), 20/02/2025 (naive)
    ("ipdo", D(2025, 2, 20), D(2025, 2, 20), "daily", OS_,
     "ipdo_informativo_preliminar_diario_da_operacao", 155, "daily"),
    # 24 Modelo ETA, 23/06/2025 (UTC .000Z)
    ("eta", D(2025, 6, 23), D(2025, 6, 23), "daily", PO,
     "modelo_eta", 549, "daily"),
    # 25 Resultados finais consistidos (vazões diárias - PDP), 13/11/2025 (UTC .000Z)
    ("resultado_final_pdp", D(2025, 11, 13), D(2025, 11, 13), "daily", PO,
     "resultados_finais_consistidos_vazoes_diarias_pdp", 243, "daily"),
]
# fmt: on


def _entries() -> list[dict[str, Any]]:
    with SAMPLE_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)


def _body(entry: dict[str, Any], claims: dict[str, Any]) -> bytes:
    token = jwt.encode(claims, "test-secret", algorithm="HS256")
    payload = dict(entry["payload"])
    assert "<TOKEN>" in payload["url"]
    payload["url"] = payload["url"].replace("<TOKEN>", token)
    return json.dumps(payload, ensure_ascii=False).encode()


def test_sample_has_26_entries() -> None:
    entries = _entries()
    assert len(entries) == EXPECTED_COUNT
    assert len(EXPECTED) == EXPECTED_COUNT


@pytest.mark.parametrize(
    ("index", "row"),
    list(enumerate(EXPECTED)),
    ids=[f"{i:02d}-{row[0]}" for i, row in enumerate(EXPECTED)],
)
def test_sample_payload_normalizes(index: int, row: tuple[Any, ...]) -> None:
    _, start, end, granularity, macro_slug, dataset, product_id, shape = row
    entries = _entries()
    assert len(entries) == EXPECTED_COUNT
    entry = entries[index]
    claims = entry["token_claims"]

    n = normalize(_body(entry, claims), allowed_hosts=ALLOWED_HOSTS, now=claims["nbf"])

    assert n.periodicidade == start
    assert n.periodicidade_final == end
    assert n.granularity == granularity
    assert n.macroprocesso_slug == macro_slug
    assert n.dataset == dataset
    assert n.product_id == product_id
    assert n.data_produto_shape == shape

    conf = json.dumps(n.to_conf())
    username = claims.get("username")
    if username:
        assert username not in conf
        assert username not in json.dumps(n.to_conf(), ensure_ascii=False)


def test_username_claim_never_reaches_conf() -> None:
    """The sample has its usernames removed, so check the rule once with a planted one."""
    entry = _entries()[0]
    username = "assinante.teste@example.com"
    claims = {**entry["token_claims"], "username": username}

    n = normalize(_body(entry, claims), allowed_hosts=ALLOWED_HOSTS, now=claims["nbf"])

    assert username not in json.dumps(n.to_conf())
    assert username not in json.dumps(n.to_conf(), ensure_ascii=False)
