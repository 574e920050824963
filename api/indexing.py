"""Wires the store to the indexes: which listings are indexed and how they are read."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from core.taxonomy import ListingStatus
from indexes.catalog import ListingIndex
from indexes.documents import IndexDocument, listing_text
from indexes.encoder import Encoder
from indexes.sync import DocumentLoader, IndexSync
from models.id_sets import id_in
from models.listings import LISTING_MODELS


def document_loader(session_factory: sessionmaker[Session]) -> DocumentLoader:
    """Published listings only: drafts and archived listings never reach an index."""

    def load(kind: str, ids: Collection[int] | None) -> dict[int, IndexDocument]:
        model = LISTING_MODELS[kind]
        query = select(model.id, model.title, model.keywords, model.description, model.language).where(
            model.status == ListingStatus.PUBLISHED
        )
        if ids is not None:
            query = query.where(id_in(model.id, ids))
        with session_factory() as session:
            return {
                doc_id: IndexDocument(
                    doc_id,
                    listing_text(title=title, keywords=keywords or [], description=text),
                    language=language.value,
                )
                for doc_id, title, keywords, text, language in session.execute(query)
            }

    return load


def build_index_sync(
    *, settings: Settings, encoder: Encoder, session_factory: sessionmaker[Session]
) -> IndexSync:
    """Load the saved indexes (or start empty) for both kinds, ready to reconcile with the store."""
    indexes = {
        kind: ListingIndex(kind=kind, root=settings.index_dir, encoder=encoder, settings=settings)
        for kind in LISTING_MODELS
    }
    for index in indexes.values():
        index.load()
    return IndexSync(
        indexes=indexes,
        load_documents=document_loader(session_factory),
        checkpoint_every=settings.index_checkpoint_every,
    )
