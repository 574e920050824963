"""The analyzer makes Vietnamese findable with or without diacritics and keeps explanations readable."""

import difflib
import json
import re
import unicodedata

from pyvi import ViTokenizer

from indexes.documents import listing_text
from indexes.text import (
    DEFAULT_ANALYZER,
    _listing_query_words,
    _query_words,
    _text_words,
    analyze,
    compound_words,
    fold_diacritics,
    looks_vietnamese,
    matched_terms,
    text_language,
)
from scripts.demo import DEMO_DIR

analyze_query = DEFAULT_ANALYZER.analyze_query


def test_fold_diacritics_maps_d_stroke_and_tones() -> None:
    assert fold_diacritics("Đường đi Y tế Nguyễn") == "Duong di Y te Nguyen"


def test_accented_query_matches_unaccented_text_and_back() -> None:
    assert set(analyze("y te")) <= set(analyze("Bộ Y tế"))
    assert set(analyze("y tế")) & set(analyze("bo y te")) >= {"y", "te"}


def test_one_letter_syllable_is_kept() -> None:
    tokens = analyze("y tế")
    assert "y" in tokens
    assert "tế" in tokens


def test_compound_words_are_tokens_with_their_syllables() -> None:
    tokens = analyze("Trí tuệ nhân tạo")
    assert {"trí_tuệ", "nhân_tạo", "tri_tue", "trí", "tuệ"} <= set(tokens)


def test_english_is_lower_cased_stemmed_and_punctuation_dropped() -> None:
    assert analyze("Sensors, FLOWS!") == ["sensor", "flow"]


def test_nfc_and_nfd_input_analyse_alike() -> None:
    import unicodedata

    text = "công nghệ sinh học"
    assert analyze(unicodedata.normalize("NFD", text)) == analyze(text)


def test_matched_terms_returns_surface_words() -> None:
    text = "Bộ Y tế ứng dụng trí tuệ nhân tạo trong bệnh viện."
    assert matched_terms("y te, tri tue nhan tao", text) == ["Y tế", "trí tuệ nhân tạo"]
    assert matched_terms("sensors", "A sensor array; Sensors too") == ["sensor", "Sensors"]
    assert matched_terms("robot", "nothing here") == []


def test_text_language_counts_words_not_letters() -> None:
    assert text_language("Hệ thống xử lý nước thải") == "vi"
    assert text_language("Cảm biến IoT đo pH cho ao tôm") == "vi"
    assert text_language("A water plant for Hồ Chí Minh City and its ten districts around it") == "en"
    assert text_language("") == "en"


def test_unaccented_queries_meet_compounds() -> None:
    assert "nuoc_thai" in analyze_query("xu ly nuoc thai")
    assert "nuoc_thai" in analyze("Xử lý nước thải dệt nhuộm")
    assert analyze_query("xử lý nước thải") == analyze("xử lý nước thải")


def test_matched_terms_are_whole_words_not_syllables() -> None:
    text = "Khung xương hỗ trợ người trên 60 tuổi, do hãng máy bay sản xuất"
    # "máy" is a syllable of the compound "máy bay" here: no match; "người" stands alone: a match.
    assert matched_terms("máy sấy cho người", text) == ["người"]
    assert matched_terms("máy bay không người lái", text) == ["người", "máy bay"]


def test_a_listings_compounds_decide_its_words() -> None:
    text = "Máy bay phun thuốc và máy sấy nông sản"
    assert matched_terms("máy bay", text, compounds=frozenset({"máy_bay"})) == ["Máy bay"]
    # Without the compound, "máy" and "bay" stand alone: a lone syllable never matches a compound.
    assert matched_terms("máy bay", text, compounds=frozenset()) == []
    assert compound_words(text) >= {"máy_bay", "nông_sản"}
    assert matched_terms("máy bay", text) == matched_terms("máy bay", text, compounds=compound_words(text))


def test_texts_kept_for_explaining_share_their_words_forms() -> None:
    first = _text_words("Hệ thống tưới nhỏ giọt cho sầu riêng", True, frozenset({"hệ_thống", "sầu_riêng"}))
    second = _text_words("Sầu riêng và hệ thống tưới", True, frozenset({"hệ_thống", "sầu_riêng"}))
    by_display = {display.lower(): (forms, syllables) for display, forms, syllables in first}
    shared = [
        (display.lower(), forms, syllables) for display, forms, syllables in second if forms is not None
    ]
    assert {display for display, _, _ in shared} == {"sầu riêng", "và", "hệ thống", "tưới"}
    for display, forms, syllables in shared:
        if display in by_display:
            assert forms is by_display[display][0] and syllables is by_display[display][1]
    assert by_display["sầu riêng"][1] == ("sau", "rieng")
    assert "sầu_riêng" in by_display["sầu riêng"][0] and "sau_rieng" in by_display["sầu riêng"][0]


def test_a_texts_words_join_the_longest_compound_and_keep_punctuation_apart() -> None:
    compounds = frozenset({"trí_tuệ", "trí_tuệ_nhân_tạo", "nhân_tạo", "tri_tue"})
    words = _text_words("Trí tuệ nhân tạo, trí tuệ và tri tue (AI).", True, compounds)
    assert [display for display, _, _ in words] == [
        "Trí tuệ nhân tạo",
        ",",
        "trí tuệ",
        "và",
        "tri tue",
        "(",
        "AI",
        ")",
        ".",
    ]
    assert [syllables for _, _, syllables in words][:3] == [
        ("tri", "tue", "nhan", "tao"),
        None,
        ("tri", "tue"),
    ]
    assert all(forms is None for display, forms, _ in words if display in ",()."), "punctuation has no forms"


def test_words_rebuilt_from_compounds_agree_with_pyvi_on_the_demo_listings() -> None:
    """Explanations read a listing's words from the compounds the index kept, joined wherever they
    occur; pyvi reads context, so it may leave a pair apart once that it joined elsewhere in the text."""
    agreed = total = 0
    for name in ("offers.jsonl", "needs.jsonl"):
        for line in (DEMO_DIR / name).read_text(encoding="utf-8").splitlines():
            listing = json.loads(line)
            text = listing_text(
                title=listing["title"], keywords=listing["keywords"], description=listing["description"]
            )
            segmented = (
                ViTokenizer.tokenize(unicodedata.normalize("NFC", text).lower())
                if looks_vietnamese(text)
                else text
            )
            expected = [word for word in re.findall(r"[^\W_]+(?:_[^\W_]+)*", segmented.lower())]
            words = _text_words(text, True, compound_words(text))
            rebuilt = [display.lower().replace(" ", "_") for display, forms, _ in words if forms is not None]
            assert {word for word in rebuilt if "_" in word} <= set(expected)
            blocks = difflib.SequenceMatcher(None, expected, rebuilt, autojunk=False).get_matching_blocks()
            agreed += sum(block.size for block in blocks)
            total += len(expected)
    assert total > 10_000 and agreed / total >= 0.995


def test_a_listing_querys_words_come_from_its_compounds() -> None:
    words, syllables = _listing_query_words("Máy bay phun thuốc", True, frozenset({"máy_bay", "may_bay"}))
    assert {"máy_bay", "may_bay", "phun", "thuốc", "thuoc"} <= words and "máy" not in words
    assert {"may", "bay", "phun", "thuoc"} == syllables
    apart, _ = _listing_query_words("Máy bay phun thuốc", True, frozenset())
    assert "máy" in apart and "máy_bay" not in apart


def test_listing_query_words_from_compounds_agree_with_pyvi_on_the_demo_listings() -> None:
    same = listings = shared = forms = 0
    for name in ("offers.jsonl", "needs.jsonl"):
        for line in (DEMO_DIR / name).read_text(encoding="utf-8").splitlines():
            listing = json.loads(line)
            text = listing_text(
                title=listing["title"], keywords=listing["keywords"], description=listing["description"]
            )
            expected = _query_words(text, True)
            rebuilt = _listing_query_words(text, True, compound_words(text))
            listings += 1
            same += expected == rebuilt
            shared += len(expected[0] & rebuilt[0])
            forms += len(expected[0] | rebuilt[0])
    assert listings > 200 and same / listings >= 0.95 and shared / forms >= 0.995
