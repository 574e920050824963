"""Vietnamese-aware text analysis shared by the lexical index, the query side and explanations.

Tokens are NFC, lower-cased words; Vietnamese text is segmented into compounds by pyvi and every
token is also emitted diacritic-folded, so "y tế" and "y te" meet in the index.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import Stemmer
from pyvi import ViTokenizer

# Letters that only Vietnamese uses among the scripts we expect; their presence is what makes the
# (slow) pyvi segmentation worth running.
_VIETNAMESE_CHARS = re.compile("[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]")
# Vietnamese prose carries these letters in most words; a third leaves room for numbers, loanwords and
# acronyms ("Cảm biến IoT đo pH cho ao tôm"), an English text with a few Vietnamese names stays below.
VIETNAMESE_WORD_SHARE = 0.3
# A word is letters/digits; pyvi joins the syllables of a compound with "_".
_WORD = re.compile(r"[^\W_]+(?:_[^\W_]+)*")
_SYLLABLE = re.compile(r"[^\W_]+")
_ASCII_WORD = re.compile(r"[a-z]+")
# Words (pyvi compounds joined by "_") and, between them, single punctuation marks that end a phrase.
_TOKEN = re.compile(r"[^\W_]+(?:_[^\W_]+)*|[^\w\s]")
# Texts this short are mostly queries, which repeat; long documents are analysed once.
_CACHEABLE_CHARS = 1_000


def fold_diacritics(text: str) -> str:
    """Strip Vietnamese (and other Latin) diacritics, đ→d, so unaccented typing still matches."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def looks_vietnamese(text: str) -> bool:
    """Whether the text contains letters only Vietnamese uses (not reliable for unaccented typing)."""
    return _VIETNAMESE_CHARS.search(text.lower()) is not None


def text_language(text: str) -> str:
    """Which of the exchange's two languages, "vi" or "en", a text is written in.

    Told by the share of words with Vietnamese letters, so an English text naming "Hồ Chí Minh" stays
    English.
    """
    words = _SYLLABLE.findall(text.lower())
    accented = sum(1 for word in words if _VIETNAMESE_CHARS.search(word))
    return "vi" if words and accented >= VIETNAMESE_WORD_SHARE * len(words) else "en"


@lru_cache(maxsize=1)
def _english_stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@dataclass(frozen=True)
class Analyzer:
    """Turns text into index/query tokens; its `version` is saved with every index built from it.

    `split_compounds` also emits the syllables of pyvi compounds, so unsegmented queries (typed
    without diacritics, where pyvi cannot segment) still match; `stem_english` applies the Snowball
    English stemmer to pure-ASCII tokens.
    """

    split_compounds: bool = True
    stem_english: bool = True

    @property
    def version(self) -> str:
        return f"vi-nfc-fold-pyvi/split={int(self.split_compounds)}/stem={int(self.stem_english)}/v1"

    def analyze(self, text: str) -> list[str]:
        """Index/query tokens of `text`, in order, repeats kept (they are term frequencies)."""
        if len(text) <= _CACHEABLE_CHARS:
            return list(_analyze_cached(self, text))
        return self._analyze(text)

    def analyze_query(self, text: str) -> list[str]:
        """Query tokens: `analyze`, plus, for text typed without diacritics (which pyvi cannot segment),
        each pair of adjacent syllables as a compound, so "nuoc thai" meets the folded "nước_thải"."""
        tokens = self.analyze(text)
        if looks_vietnamese(text):
            return tokens
        syllables = _SYLLABLE.findall(unicodedata.normalize("NFC", text).lower())
        return tokens + [f"{first}_{second}" for first, second in itertools.pairwise(syllables)]

    def word_forms(self, word: str) -> list[str]:
        """Tokens of one already segmented word: itself, its folded form, syllables, stems."""
        return list(_word_forms_cached(self, word))

    def _word_forms(self, word: str) -> list[str]:
        base = [word, *word.split("_")] if self.split_compounds and "_" in word else [word]
        forms = base + [fold_diacritics(form) for form in base]
        if self.stem_english:
            stemmer = _english_stemmer()
            forms = [stemmer.stemWord(form) if _ASCII_WORD.fullmatch(form) else form for form in forms]
        return list(dict.fromkeys(forms))

    def _analyze(self, text: str) -> list[str]:
        normalized = unicodedata.normalize("NFC", text).lower()
        if looks_vietnamese(normalized):
            normalized = ViTokenizer.tokenize(normalized)
        tokens: list[str] = []
        for word in _WORD.findall(normalized):
            tokens.extend(self.word_forms(word))
        return tokens


# Words repeat across listings and requests; folding and stemming each again was a tenth of a match.
@lru_cache(maxsize=65_536)
def _word_forms_cached(analyzer: Analyzer, word: str) -> tuple[str, ...]:
    return tuple(analyzer._word_forms(word))


@lru_cache(maxsize=8192)
def _analyze_cached(analyzer: Analyzer, text: str) -> tuple[str, ...]:
    return tuple(analyzer._analyze(text))


DEFAULT_ANALYZER = Analyzer()


def analyze(text: str) -> list[str]:
    """Index/query tokens of `text` with the default analyzer."""
    return DEFAULT_ANALYZER.analyze(text)


@lru_cache(maxsize=2)
def _whole_words(stem_english: bool) -> Analyzer:
    return Analyzer(split_compounds=False, stem_english=stem_english)


# A listing's word: its spelling for display, its forms, and its folded syllables (compounds only);
# a punctuation token has neither, and breaks a phrase. Tuples of strings, not sets: the collector
# stops tracking them, and walking the cache's sets made each full collection take 30-40 ms.
TextWord = tuple[str, tuple[str, ...] | None, tuple[str, ...] | None]
# Listings' words kept for explaining: a result page (20) and the demo's catalogue (234) fit. In a
# catalogue of 10^5 a listing rarely comes back while kept, and 4,096 held ~96 MiB in every worker
# (~15 KiB a text since texts share their words' forms, against ~23 before).
TEXTS_KEPT = 512


def compounds_among(terms: Iterable[str]) -> frozenset[str]:
    """The terms that join syllables ("máy_bay", and its folded "may_bay"): where pyvi formed a compound."""
    return frozenset(term for term in terms if "_" in term)


@lru_cache(maxsize=TEXTS_KEPT)
def compound_words(text: str, analyzer: Analyzer = DEFAULT_ANALYZER) -> frozenset[str]:
    """The compounds of `text` among its index tokens, as the lexical index holds them for every
    listing (`LexicalIndex.compound_words`); this analyses the text again, for a listing the index
    does not hold as it reads now."""
    return compounds_among(analyzer.analyze(text))


@lru_cache(maxsize=TEXTS_KEPT)
def _text_words(text: str, stem_english: bool, compounds: frozenset[str]) -> tuple[TextWord, ...]:
    """A listing's words in its own spelling, syllables joined where they form one of its `compounds`
    (longest first), with the forms a query word may match; every result explained reads its
    listing again, so the same texts are kept."""
    tokens = _TOKEN.findall(unicodedata.normalize("NFC", text))
    lowered = [token.lower() for token in tokens]
    # Each compound's syllables under its first one, longest first: only where one starts is a
    # compound looked for, and a lone word (most of them) takes no join.
    starting: dict[str, list[list[str]]] = {}
    for compound in compounds:
        parts = compound.split("_")
        starting.setdefault(parts[0], []).append(parts)
    for options in starting.values():
        options.sort(key=len, reverse=True)
    words: list[TextWord] = []
    position = 0
    while position < len(tokens):
        word = lowered[position]
        # A token is a word or one punctuation character, which is never alphanumeric.
        if not word[0].isalnum():
            words.append((tokens[position], None, None))
            position += 1
            continue
        size = next(
            (
                len(parts)
                for parts in starting.get(word, ())
                if lowered[position : position + len(parts)] == parts
            ),
            1,
        )
        if size > 1:
            word = "_".join(lowered[position : position + size])
        forms, syllables = _explained_word(word, stem_english)
        display = tokens[position] if size == 1 else " ".join(tokens[position : position + size])
        words.append((display, forms, syllables))
        position += size
    return tuple(words)


@lru_cache(maxsize=65_536)
def _explained_word(word: str, stem_english: bool) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """A word's forms and, for a compound, its folded syllables: words repeat across listings, so every
    text kept for explaining shares these tuples instead of holding its own."""
    syllables = tuple({fold_diacritics(part): None for part in word.split("_")}) if "_" in word else None
    return _word_forms_cached(_whole_words(stem_english), word), syllables


@lru_cache(maxsize=1024)
def _query_words(query: str, stem_english: bool) -> tuple[frozenset[str], frozenset[str]]:
    """A query's whole words and their folded syllables (one query explains a page of results)."""
    return _with_syllables(frozenset(_whole_words(stem_english).analyze(query)))


@lru_cache(maxsize=1024)
def _listing_query_words(
    query: str, stem_english: bool, compounds: frozenset[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """`_query_words` of a listing's text from the compounds its index holds, without pyvi: a match's
    query is a whole listing, which pyvi took milliseconds to segment."""
    words = _text_words(query, stem_english, compounds)
    return _with_syllables(frozenset(form for _, forms, _ in words for form in forms or ()))


def _with_syllables(words: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """A query's words and the folded syllables of each, which a compound of the text must all find."""
    return words, frozenset(fold_diacritics(part) for word in words for part in word.split("_"))


def matched_terms(
    query: str,
    text: str,
    *,
    compounds: frozenset[str] | None = None,
    query_compounds: frozenset[str] | None = None,
    analyzer: Analyzer = DEFAULT_ANALYZER,
) -> list[str]:
    """Whole words of `text`, in its own spelling, that match the query; adjacent matches form one phrase.

    Used to explain a match ("Y tế", "trí tuệ nhân tạo"), so it works on pyvi words: a compound
    matches as a whole, or when every one of its syllables is in the query (unaccented or differently
    segmented typing); a lone syllable matches only a lone query word, so "máy" of "máy bay" is no match.
    `compounds`: those of `text` as the index holds them (else `text` is segmented again);
    `query_compounds` likewise for a query that is an indexed listing's text.
    """
    query_words, query_syllables = (
        _query_words(query, analyzer.stem_english)
        if query_compounds is None
        else _listing_query_words(query, analyzer.stem_english, query_compounds)
    )
    known = compound_words(text, analyzer) if compounds is None else compounds
    phrases: list[str] = []
    run: list[str] = []
    for display, forms, syllables in _text_words(text, analyzer.stem_english, known):
        if forms is not None and (
            not query_words.isdisjoint(forms)
            or (syllables is not None and query_syllables.issuperset(syllables))
        ):
            run.append(display)
            continue
        if run:
            phrases.append(" ".join(run))
            run = []
    if run:
        phrases.append(" ".join(run))
    return list(dict.fromkeys(phrases))
