"""A listing index's generation on disk: the dense and the lexical index, with the fingerprints and the
language of each listing saved beside them."""

from __future__ import annotations

import json
from pathlib import Path

from indexes.encoder import Encoder
from indexes.lexical import LexicalIndex
from indexes.storage import write_json_object
from indexes.vector import VectorIndex

FINGERPRINTS_FILE = "fingerprints.json"
LANGUAGES_FILE = "languages.json"


def read_listing_files(
    generation: Path, encoder: Encoder
) -> tuple[VectorIndex, LexicalIndex, dict[int, str], dict[int, str]]:
    """(vectors, lexical index, fingerprints, language of each listing) saved in `generation`; raises
    IndexStoreError, OSError or ValueError when a part is unreadable or was built for another encoder."""
    vectors = VectorIndex.load(
        generation, expected_model=encoder.model_name, expected_dimension=encoder.dimension
    )
    lexical = LexicalIndex.load(generation)
    fingerprints = {int(k): v for k, v in json.loads((generation / FINGERPRINTS_FILE).read_text()).items()}
    language_of = {int(k): v for k, v in json.loads((generation / LANGUAGES_FILE).read_text()).items()}
    return vectors, lexical, fingerprints, language_of


def write_listing_files(
    directory: Path,
    *,
    vectors: VectorIndex,
    lexical: LexicalIndex,
    fingerprints: dict[int, str],
    language_of: dict[int, str],
) -> None:
    """Write both indexes, the fingerprints and the language of each listing into `directory`."""
    vectors.save(directory)
    lexical.save(directory)
    write_json_object(directory / FINGERPRINTS_FILE, fingerprints)
    write_json_object(directory / LANGUAGES_FILE, language_of)
