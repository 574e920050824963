"""The demo data set behind the real bundled model: what a new user sees first."""

from __future__ import annotations

import csv
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from indexes.sentence_encoder import SentenceEncoder
from models.base import make_engine, make_session_factory, transaction
from models.migrate import upgrade
from scripts.demo import DEMO_DIR, load_demo

pytestmark = pytest.mark.integration
BROKER = {"Authorization": "Bearer tm_demo_broker"}


@pytest.fixture(scope="module")
def demo_client(
    tmp_path_factory: pytest.TempPathFactory, bundled_encoder: SentenceEncoder
) -> Iterator[TestClient]:
    data_dir = tmp_path_factory.mktemp("demo")
    settings = Settings(data_dir=data_dir, background_workers=False)
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        load_demo(session=session)
    engine.dispose()
    with TestClient(create_app(settings, encoder=bundled_encoder)) as client:
        yield client


def test_demo_lists_at_least_150_published_offers(demo_client: TestClient) -> None:
    page = demo_client.get("/api/v1/offers", params={"limit": 1}).json()
    assert page["total"] >= 150
    health = demo_client.get("/api/v1/healthz", headers={"Authorization": "Bearer tm_demo_admin"}).json()
    assert health["indexes"]["offers"]["count"] == page["total"]
    assert health["indexes"]["offers"]["model"] == "multilingual-e5-small"


@pytest.mark.parametrize("query", ["xử lý nước thải", "xu ly nuoc thai"])
def test_vietnamese_search_with_and_without_diacritics(demo_client: TestClient, query: str) -> None:
    items = demo_client.get("/api/v1/search/offers", params={"q": query, "limit": 3}).json()["items"]
    assert items, query
    assert all(
        "nước thải" in item["offer"]["title"].lower() or "wastewater" in item["offer"]["title"].lower()
        for item in items[:2]
    )


def test_english_paraphrase_is_found_by_meaning(demo_client: TestClient) -> None:
    items = demo_client.get(
        "/api/v1/search/offers", params={"q": "detecting defects in woven fabric with cameras", "limit": 5}
    ).json()["items"]
    titles = " ".join(item["offer"]["title"].lower() for item in items)
    assert "fabric" in titles or "vải" in titles


def test_judged_offers_rank_high_in_need_matches(demo_client: TestClient) -> None:
    judged: dict[str, set[str]] = {}
    with (DEMO_DIR / "judgments.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            judged.setdefault(row["need_ref"], set()).add(row["offer_ref"])
    needs = demo_client.get("/api/v1/needs", params={"limit": 100}, headers=BROKER).json()["items"]
    hits = total = 0
    for need in needs:
        if need["external_ref"] not in judged or need["status"] != "published":
            continue
        items = demo_client.get(
            f"/api/v1/needs/{need['id']}/matches", params={"k": 10}, headers=BROKER
        ).json()
        found = {item["offer"]["external_ref"] for item in items["items"]}
        hits += bool(found & judged[need["external_ref"]])
        total += 1
    assert total >= 50
    assert hits / total >= 0.8, f"only {hits}/{total} needs have a judged offer in their top 10"


def test_cross_language_judged_offers_reach_the_top_10(demo_client: TestClient) -> None:
    """A Vietnamese need finds the English offer that solves it, and the other way round."""
    judged: dict[str, set[str]] = {}
    with (DEMO_DIR / "judgments.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            judged.setdefault(row["need_ref"], set()).add(row["offer_ref"])
    offers = demo_client.get("/api/v1/offers", params={"limit": 100}, headers=BROKER).json()["items"]
    offers += demo_client.get("/api/v1/offers", params={"limit": 100, "offset": 100}, headers=BROKER).json()[
        "items"
    ]
    language = {offer["external_ref"]: offer["language"] for offer in offers}
    needs = demo_client.get("/api/v1/needs", params={"limit": 100}, headers=BROKER).json()["items"]
    found = total = 0
    explained = []
    for need in needs:
        cross = {
            ref
            for ref in judged.get(need["external_ref"], ())
            if language.get(ref) not in (None, need["language"])
        }
        if not cross:
            continue
        items = demo_client.get(
            f"/api/v1/needs/{need['id']}/matches", params={"k": 10}, headers=BROKER
        ).json()
        top = {item["offer"]["external_ref"]: item for item in items["items"]}
        found += len(cross & set(top))
        total += len(cross)
        explained += [top[ref]["explanation"] for ref in cross & set(top)]
    assert total >= 40
    assert found / total >= 0.8, f"only {found}/{total} cross-language judged offers in a top 10"
    # No term matches across languages: the explanation pairs up sentences instead.
    assert explained and all(explanation["correspondences"] for explanation in explained)
    best = explained[0]["correspondences"][0]
    assert best["source"] and best["target"] and 0 < best["similarity"] <= 1


def test_demo_translations_and_reposts_are_found_with_the_real_model(demo_client: TestClient) -> None:
    """The labelled link partners of a few demo offers are found by the shipped rule (detection only: nothing
    is stored, so the other tests of this module see the demo unchanged)."""
    from sqlalchemy import select

    from api.links import indexed_texts
    from matcher.links import find_links
    from models.listings import Offer

    runtime = demo_client.app.state.runtime  # type: ignore[attr-defined]
    labelled: dict[str, dict[str, str]] = {}
    with (DEMO_DIR / "links.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            labelled.setdefault(row["ref_a"], {})[row["ref_b"]] = row["link_type"]
            labelled.setdefault(row["ref_b"], {})[row["ref_a"]] = row["link_type"]
    with runtime.session_factory() as session:
        id_of = dict(session.execute(select(Offer.external_ref, Offer.id)).all())
        ref_of = {doc_id: ref for ref, doc_id in id_of.items()}
        for ref in ("off-001", "off-019", "off-104"):
            links = find_links(
                runtime.index_sync.indexes["offers"],
                id_of[ref],
                texts=lambda ids: indexed_texts(session, "offers", ids),
            )
            found = {ref_of[link.other_id]: link.kind for link in links}
            assert found == labelled[ref], ref
