"""The README's five questions run against a lake of real-layout files and answer sensibly.

Files made by the real-layout generators are landed with ``ingest_file`` (the same routing as a
webhook delivery), then every query of the README's "Querying" block runs through
``sintegre.lake.views.connect``, the views ``make lake`` opens.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from sintegre.core.settings import load_settings
from sintegre.ingest.manual import ProductLabels, ingest_file
from sintegre.lake.views import connect
from sintegre_dev.ons_files.dessem import make_prevcarga_dessem
from sintegre_dev.ons_files.hydro import make_acomph
from sintegre_dev.ons_files.precipitation import make_ecmwf

README = Path(__file__).resolve().parents[2] / "README.md"
MACRO = "Programação da Operação"


def readme_questions() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = text.split("### Querying: `make lake`", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    queries = [q.strip() for q in re.split(r";\s*\n", block) if q.strip()]
    return [q for q in queries if "SELECT" in q]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    files = tmp_path_factory.mktemp("files")
    settings = load_settings(
        {"LAKE_URI": str(root / "lake"), "SINTEGRE_STATE_DIR": str(root / "state")}
    )
    today = date.today()
    deliveries = [
        (
            make_acomph(files / "ACOMPH_05.08.2025.xls", date(2025, 8, 5)),
            "Acomph",
            date(2025, 8, 5),
        ),
        (
            make_prevcarga_dessem(files / "PrevCargaDESSEM_2025-04-29.zip", date(2025, 4, 29)),
            "Arquivos de Previsão de Carga para o DESSEM - PrevCargaDESSEM",
            date(2025, 4, 29),
        ),
        (
            make_ecmwf(files / f"ECMWF_precipitacao14d_{today:%Y%m%d}.zip", today),
            "Modelo ECMWF",
            today,
        ),
    ]
    for path, nome, day in deliveries:
        labels = ProductLabels(nome=nome, macro_processo=MACRO, periodicidade=day)
        ingest_file(path, labels, settings=settings)
    return root / "lake"


def test_the_readme_has_five_questions() -> None:
    assert len(readme_questions()) == 5


@pytest.mark.parametrize("number", range(5))
def test_each_readme_question_answers(lake: Path, number: int) -> None:
    query = readme_questions()[number]
    con = connect(lake)
    try:
        rows = con.execute(query).fetchall()
    finally:
        con.close()
    assert rows, f"question {number + 1} answered nothing:\n{query}"
    if number == 1:  # Acomph gauge 6: FURNAS, 30 days
        assert len(rows) == 30 and {r[1] for r in rows} == {"FURNAS"}
    if number == 2:  # one version of the 29/04 forecast, 4 x 48 half hours
        assert [(r[2]) for r in rows] == [192]
