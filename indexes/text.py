"""Vietnamese-aware text analysis shared by the lexical index, the query side and explanations.

Tokens are NFC, lower-cased words; Vietnamese text is segmented into compounds by pyvi and every
token is also emitted diacritic-folded, so "y tế" and "y te" meet in the index.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import Stemmer
from pyvi import ViTokenizer

# Letters that only Vietnamese uses among the scripts we expect; their presence is what makes the
# (slow) pyvi segmentation worth running.
_VIETNAMESE_CHARS = re.compile("[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]")
# A word is letters/digits; pyvi joins the syllables of a compound with "_".
_WORD = re.compile(r"[^\W_]+(?:_[^\W_]+)*")
_SYLLABLE = re.compile(r"[^\W_]+")
_ASCII_WORD = re.compile(r"[a-z]+")
# Texts this short are mostly queries, which repeat; long documents are analysed once.
_CACHEABLE_CHARS = 1_000


def fold_diacritics(text: str) -> str:
    """Strip Vietnamese (and other Latin) diacritics, đ→d, so unaccented typing still matches."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def looks_vietnamese(text: str) -> bool:
    """Whether the text contains letters only Vietnamese uses (not reliable for unaccented typing)."""
    return _VIETNAMESE_CHARS.search(text.lower()) is not None


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

    def word_forms(self, word: str) -> list[str]:
        """Tokens of one already segmented word: itself, its folded form, syllables, stems."""
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


@lru_cache(maxsize=8192)
def _analyze_cached(analyzer: Analyzer, text: str) -> tuple[str, ...]:
    return tuple(analyzer._analyze(text))


DEFAULT_ANALYZER = Analyzer()


def analyze(text: str) -> list[str]:
    """Index/query tokens of `text` with the default analyzer."""
    return DEFAULT_ANALYZER.analyze(text)


def matched_terms(query: str, text: str, *, analyzer: Analyzer = DEFAULT_ANALYZER) -> list[str]:
    """Words of `text`, in its own spelling, that match the query; adjacent matches form one phrase.

    Used to explain a match ("Y tế", "trí tuệ nhân tạo"), so it works on syllables: a compound
    matched by the index is a run of matching syllables here.
    """
    query_terms = set(analyzer.analyze(query))
    query_terms.update(part for term in list(query_terms) for part in term.split("_"))
    normalized = unicodedata.normalize("NFC", text)
    phrases: list[str] = []
    run_start = run_end = -1
    for syllable in _SYLLABLE.finditer(normalized):
        if not query_terms.intersection(analyzer.word_forms(syllable.group().lower())):
            continue
        if run_end >= 0 and normalized[run_end : syllable.start()].isspace():
            run_end = syllable.end()
            continue
        if run_end >= 0:
            phrases.append(normalized[run_start:run_end])
        run_start, run_end = syllable.start(), syllable.end()
    if run_end >= 0:
        phrases.append(normalized[run_start:run_end])
    return list(dict.fromkeys(phrases))
