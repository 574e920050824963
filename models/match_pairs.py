"""What a match pairs: the engine's scoring of a pair, the pair's material fingerprint and the hard rules.

Shared by the engine's suggestions, brokers' own pairs and members' introduction requests.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import ConflictError, InvalidError
from models.listings import Need, Offer
from models.matches import Match


@dataclass(frozen=True)
class Scoring:
    """What the engine said about a pair: stored on the match for review and for training."""

    score: float
    text_score: float
    explanation: dict[str, Any]
    features: list[float]
    feature_names: list[str]
    ranker_version: str | None


def _material(row: Need | Offer) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": row.title,
        "description": row.description,
        "sector": row.sector,
        "keywords": sorted(row.keywords or ()),
        "transfer_types": sorted(row.transfer_types or ()),
        "currency": row.currency,
    }
    if isinstance(row, Offer):
        values |= {"trl": row.trl, "ip_status": row.ip_status, "price": [row.price_min, row.price_max]}
    else:
        values |= {"min_trl": row.min_trl, "budget": [row.budget_min, row.budget_max]}
    return values


def material_fingerprint(*, need: Need, offer: Offer) -> str:
    """Hash of what a broker judges a pair on; region, status and dates are left out on purpose."""
    text = json.dumps({"need": _material(need), "offer": _material(offer)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_pairable(*, need: Need, offer: Offer) -> None:
    """The matcher's hard rules, for pairs a broker proposes by hand."""
    if need.organization_id == offer.organization_id:
        raise InvalidError("An organization cannot be matched with itself.")
    if need.organization_id in (offer.excluded_organization_ids or ()) or offer.organization_id in (
        need.excluded_organization_ids or ()
    ):
        raise InvalidError("One of the organizations excluded the other from its matches.")


def new_pair(*, session: Session, need_id: int, offer_id: int) -> tuple[Need, Offer]:
    """The listings of a pair a broker proposes, checked against the hard rules and existing matches."""
    need, offer = session.get(Need, need_id), session.get(Offer, offer_id)
    if need is None or offer is None:
        raise InvalidError(
            f"Need {need_id} does not exist." if need is None else f"Offer {offer_id} does not exist."
        )
    check_pairable(need=need, offer=offer)
    existing = session.scalar(select(Match).where(Match.need_id == need_id, Match.offer_id == offer_id))
    if existing is not None:
        raise ConflictError(
            f"Need {need_id} and offer {offer_id} are already match {existing.id} ({existing.status})."
        )
    return need, offer


def locked_pair(*, session: Session, need: Need, offer: Offer) -> Match | None:
    """The pair's match, if any, locked until commit: two writers of one pair take turns."""
    query = (
        select(Match).where(Match.need_id == need.id, Match.offer_id == offer.id).with_for_update(of=Match)
    )
    return session.scalars(query).unique().one_or_none()
