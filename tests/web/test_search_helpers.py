"""The search page's helpers: highlighting that escapes, lenient facets, the price facet."""

from __future__ import annotations

from starlette.datastructures import QueryParams

from web.search import Facets, excerpt, highlight


def test_highlight_escapes_the_text_and_marks_terms_in_any_case_and_spacing() -> None:
    marked = str(highlight("<b>Xử lý  NƯỚC thải</b> & nước thải", ["nước thải", "xử lý"]))
    assert (
        marked == "&lt;b&gt;<mark>Xử lý</mark>  <mark>NƯỚC thải</mark>&lt;/b&gt; &amp; <mark>nước thải</mark>"
    )
    assert str(highlight("water treatment", ["<script>"])) == "water treatment"
    assert str(highlight("underwater", ["water"])) == "underwater"  # whole words only
    assert str(highlight("a <i>", [])) == "a &lt;i&gt;"


def test_excerpt_starts_near_the_first_matched_term() -> None:
    text = " ".join(["mở đầu"] * 100) + " công nghệ xử lý nước thải " + " ".join(["kết thúc"] * 100)
    window = excerpt(text, ["nước thải"], length=120)
    assert "nước thải" in window and window.startswith("… ") and window.endswith(" …")
    assert excerpt("short", ["x"]) == "short"


def test_facets_ignore_unknown_values_clamp_numbers_and_round_trip() -> None:
    facets = Facets.read(QueryParams(
        "q=xu+ly&kind=needs&sector=ai&sector=bogus&trl_min=0&trl_max=42&price_to=1.000.000&page=999&region=ha_noi"
    ))  # fmt: skip
    assert facets.kind == "needs" and facets.sectors == ["ai"] and facets.regions == ["ha_noi"]
    assert (facets.trl_min, facets.trl_max, facets.price_to, facets.page) == (1, 9, 1_000_000, 50)
    assert facets.active == 5
    again = Facets.read(QueryParams(facets.query()))
    assert again == facets
    assert "page=2" in facets.query(page=2) and "page" not in Facets().query()
    assert Facets.read(QueryParams("kind=people")).kind == "offers"
    assert (
        Facets.read(QueryParams("trl_min=7&trl_max=3")).filters.trl_min == 3
    )  # a reversed range is read the right way
