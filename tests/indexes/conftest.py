"""The real bundled model, loaded once per test session for the integration tests that need it."""

from __future__ import annotations

import pytest

from indexes.encoder import SentenceEncoder


@pytest.fixture(scope="session")
def bundled_encoder(tmp_path_factory: pytest.TempPathFactory) -> SentenceEncoder:
    return SentenceEncoder(
        model_name="all-MiniLM-L6-v2", backend="torch", cache_dir=tmp_path_factory.mktemp("models")
    )
