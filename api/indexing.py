"""Wires the store to the indexes: which listings are indexed and how they are read."""

from __future__ import annotations

import time
from collections.abc import Collection

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from core.taxonomy import ListingStatus
from indexes.catalog import ListingIndex
from indexes.documents import IndexDocument, listing_text
from indexes.encoder import Encoder
from indexes.storage import current_generation
from indexes.sync import DocumentLoader, IdLoader, IndexSync
from models.id_sets import id_in
from models.listings import LISTING_MODELS

FOLLOWER_LOAD_ATTEMPTS = 5


def _indexable(kind: str) -> ColumnElement[bool]:
    """Published listings only: drafts and archived listings never reach an index."""
    return LISTING_MODELS[kind].status == ListingStatus.PUBLISHED


def document_loader(session_factory: sessionmaker[Session]) -> DocumentLoader:
    """The indexable listings among the ids asked for, as the indexes see them."""

    def load(kind: str, ids: Collection[int]) -> dict[int, IndexDocument]:
        model = LISTING_MODELS[kind]
        query = select(model.id, model.title, model.keywords, model.description, model.language).where(
            _indexable(kind), id_in(model.id, ids)
        )
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


def id_loader(session_factory: sessionmaker[Session]) -> IdLoader:
    """The ids `document_loader` would find among all listings of a kind."""

    def load_ids(kind: str) -> list[int]:
        with session_factory() as session:
            return list(session.scalars(select(LISTING_MODELS[kind].id).where(_indexable(kind))))

    return load_ids


def build_index_sync(
    *, settings: Settings, encoder: Encoder, session_factory: sessionmaker[Session], saves: bool = True
) -> IndexSync:
    """Load the saved indexes (or start empty) for both kinds, ready to reconcile with the store;
    `saves=False` for a follower API worker, which only reads the leader's generations."""
    indexes = {
        kind: ListingIndex(kind=kind, root=settings.index_dir, encoder=encoder, settings=settings)
        for kind in LISTING_MODELS
    }
    for index in indexes.values():
        # A follower may read while the leader replaces the generation: read the new one then.
        for _attempt in range(1 if saves else FOLLOWER_LOAD_ATTEMPTS):
            if index.load() or current_generation(index.root) is None:
                break
            time.sleep(0.2)
    return IndexSync(
        indexes=indexes,
        load_documents=document_loader(session_factory),
        load_ids=id_loader(session_factory),
        checkpoint_every=settings.index_checkpoint_every,
        saves=saves,
    )
