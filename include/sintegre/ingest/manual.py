"""Land a file someone downloaded from the SINtegre portal by hand.

python -m sintegre.cli.ingest_file PATH --nome "Acomph" --macro-processo "Programação da Operação"
\\
    --periodicidade 2025-04-29 [--periodicidade-final 2025-04-29] [--processo ...] \\
    [--data-produto 29/04/2025] [--product-id 230]

The file goes through the same parse and land steps as a webhook delivery, with a conf shaped
like ``Notification.to_conf()``. It has no token, so its delivery instant is the ingestion time.
Exit status: 0 landed, 1 the file cannot be read (the lake is left as it was), 2 bad arguments.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from sintegre.catalog.products import load_catalog
from sintegre.core.runconf import RunConf
from sintegre.core.settings import Settings, load_settings
from sintegre.core.slugs import slugify
from sintegre.ingest.download import sanitize_file_name
from sintegre.ingest.pipeline import land_step, parse_step
from sintegre.intake.notification import granularity_of
from sintegre.intake.routing import uncatalogued_dataset
from sintegre.lake.storage import LakeStore, open_store

MANUAL_FLAG = "manual_ingest"
_CHUNK_BYTES = 1 << 20


class IngestError(ValueError):
    """The file or the arguments cannot be ingested (the message says why)."""


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, read in chunks (product files reach hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ProductLabels:
    """What the portal says about a file downloaded by hand (a notification's labels).

    A webhook delivery carries these in its notification; a file someone downloaded has
    none, so the operator gives them (``make ingest-file``'s options).

    Attributes:
        nome: The product name as the portal shows it.
        macro_processo: The macro-process label as the portal shows it.
        periodicidade: First day of the period (Brasília date).
        periodicidade_final: Last day of the period; defaults to ``periodicidade``.
        processo: The process label, when known.
        data_produto: The product date label (``29/04/2025``), when known.
        product_id: The portal's product id, when known.
    """

    nome: str
    macro_processo: str
    periodicidade: date
    periodicidade_final: date | None = None
    processo: str | None = None
    data_produto: str | None = None
    product_id: int | None = None


def manual_conf(labels: ProductLabels, *, sha256: str) -> dict[str, Any]:
    """A run conf with the keys of ``Notification.to_conf()`` for a file with no notification.

    Args:
        labels: The portal's labels of the file.
        sha256: The file's sha256 (the id is derived from it, so a repeat gets the same id).

    Returns:
        The conf dict the pipeline steps take.

    Raises:
        IngestError: An empty name or a period that ends before it starts.
    """
    nome, macro_processo = labels.nome.strip(), labels.macro_processo.strip()
    if not nome or not macro_processo:
        raise IngestError("--nome and --macro-processo must not be empty")
    periodicidade = labels.periodicidade
    final = labels.periodicidade_final or periodicidade
    if final < periodicidade:
        raise IngestError("--periodicidade-final is before --periodicidade")
    notification_id = f"manual-{sha256[:20]}-{periodicidade.isoformat()}"
    product_id = labels.product_id
    # Routed by the catalog like a webhook delivery: product id first, then the name.
    product = load_catalog().lookup(product_id, nome)
    if product is not None:
        product_id, dataset = product.id, product.dataset
    else:
        dataset = uncatalogued_dataset(product_id, nome)
    return RunConf(
        notification_id=notification_id,
        nome=nome,
        processo=labels.processo,
        dataProduto=labels.data_produto,
        macroProcesso=macro_processo,
        # Naive Brasília time, the way ONS writes the period fields.
        periodicidade=f"{periodicidade.isoformat()}T00:00:00",
        periodicidadeFinal=f"{final.isoformat()}T23:59:59",
        url=None,
        product_id=product_id,
        dataset=dataset,
        macroprocesso_slug=slugify(macro_processo, fallback="sem_macroprocesso"),
        periodicidade_date=periodicidade,
        periodicidade_final_date=final,
        granularity=granularity_of(periodicidade, final),
        # No token: land dates the delivery at ingestion time, which is when it reached us.
        flags=[MANUAL_FLAG],
    ).to_conf()


def _missing_dirs(directory: Path, stop: Path) -> list[Path]:
    """The directories from ``directory`` up to ``stop`` (included) that do not exist yet."""
    missing: list[Path] = []
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            break
        missing.append(candidate)
        if candidate == stop:
            break
    return missing


def copy_to_raw(
    source: Path,
    *,
    lake_root: Path | str | LakeStore,
    dataset: str,
    period: str,
    sha256: str,
) -> tuple[dict[str, Any], list[Path | str]]:
    """Copy a file into ``raw/<dataset>/<yyyy>/<mm>/<sha256>/<name>``, atomically.

    Works on a local lake and on S3 (the copy is hashed on the way, then published whole).

    Returns:
        The download dict the steps take, and what this call created (local: the file first,
        then new directories, deepest first; S3: the key) so a failed parse can take it back.

    Raises:
        IngestError: The file changed while it was being copied.
    """
    store = open_store(lake_root)
    name = sanitize_file_name(source.name)
    key = str(PurePosixPath("raw", dataset, period[:4], period[5:7], sha256, name))
    created: list[Path | str] = []
    if not store.exists(key):  # raw is content-addressed: the same bytes are already there
        if store.is_local:
            created = list(_missing_dirs(store.local_path(key).parent, store.local_path()))
        digest = hashlib.sha256()
        try:
            with store.atomic_path(key) as tmp:
                with open(source, "rb") as src, open(tmp, "wb") as out:
                    for chunk in iter(lambda: src.read(_CHUNK_BYTES), b""):
                        digest.update(chunk)
                        out.write(chunk)
                # Hash what was copied, not only what was read first: the folder is a promise.
                if digest.hexdigest() != sha256:
                    raise IngestError(f"{source} changed while it was being copied; try again")
        except BaseException:
            _remove(store, created)
            raise
        created.insert(0, store.local_path(key) if store.is_local else key)
    download = {
        "raw_path": key,
        "sha256": sha256,
        "file_name": name,
        "size": store.size(key),
        "content_type": None,
    }
    return download, created


def _remove(store: LakeStore, created: list[Path | str]) -> None:
    """Take back files and (empty) directories this run created, deepest first."""
    for item in created:
        if isinstance(item, str):
            store.delete(item)
            continue
        try:
            if item.is_dir():
                item.rmdir()
            else:
                item.unlink(missing_ok=True)
        except OSError:
            pass  # something else wrote there meanwhile: leave it


def ingest_file(
    source: Path, labels: ProductLabels, *, settings: Settings | None = None
) -> dict[str, Any]:
    """Copy a local file into the raw zone, parse it and land it like a delivery.

    Args:
        source: The file as downloaded from the portal.
        labels: The portal's labels of the file (name, macro-process, period...).
        settings: Where the lake is; read from the environment when omitted.

    Returns:
        ``conf``, ``download`` and ``landed`` (what ``land_step`` returned).

    Raises:
        IngestError: The file is missing or the arguments are invalid.
        ReaderError: The file cannot be read; nothing is left in the lake.
    """
    settings = settings or load_settings()
    source = Path(source)
    if not source.is_file():
        raise IngestError(f"{source} is not a file")
    sha256 = file_sha256(source)
    conf = manual_conf(labels, sha256=sha256)
    store = open_store(settings.lake_uri, settings)
    download, created = copy_to_raw(
        source,
        lake_root=store,
        dataset=conf["dataset"],
        period=conf["periodicidade_date"],
        sha256=sha256,
    )
    run_id = f"manual__{conf['notification_id']}"
    try:
        parsed = parse_step(download, run_id, settings, product_id=conf["product_id"])
    except BaseException:
        # Unlike a webhook delivery, the operator still holds the file: an unreadable one is
        # taken back out so the lake looks as if nothing was tried.
        _remove(store, created)
        raise
    landed = land_step(parsed, download, conf, run_id, settings)
    return {"conf": conf, "download": download, "landed": landed}
