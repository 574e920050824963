"""Model cards: what each known embedding model declares about itself, with the settings' overrides."""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings
from indexes import bundled_e5

MINILM_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})


@dataclass(frozen=True)
class ModelCard:
    """What a model declares about itself: the prefixes it was trained with and the languages it reads."""

    query_prefix: str = ""
    passage_prefix: str = ""
    languages: frozenset[str] = frozenset({"en"})
    # Cosine drop from the 1st to the 10th nearest listing above which the model is taken to
    # understand a query (fusion trusts its dense list fully); a property of the model's cosine scale.
    confident_spread: float = 0.2

    @property
    def symmetric(self) -> bool:
        """Queries and passages are encoded alike, so a listing's indexed vector is also its query vector."""
        return self.query_prefix == self.passage_prefix


# Models the service knows; any other sentence-transformers model is taken as English-only without
# prefixes unless the settings say otherwise (TECHMATCH_EMBEDDING_LANGUAGES, TECHMATCH_*_PREFIX).
MODEL_CARDS: dict[frozenset[str], ModelCard] = {
    MINILM_NAMES: ModelCard(),
    bundled_e5.MODEL_NAMES: ModelCard(
        query_prefix=bundled_e5.QUERY_PREFIX,
        passage_prefix=bundled_e5.QUERY_PREFIX,
        languages=frozenset({"en", "vi"}),
        # e5's cosines crowd into a narrow band: typical demo queries spread 0.045-0.06, unaccented
        # typing (which it reads poorly) 0.02.
        confident_spread=0.05,
    ),
}


def model_card(model_name: str) -> ModelCard:
    """The card of a known model name, else the defaults for an unknown (assumed English-only) model."""
    for names, card in MODEL_CARDS.items():
        if model_name in names:
            return card
    return ModelCard()


def configured_card(settings: Settings) -> ModelCard:
    """The model's card with whatever the settings override."""
    card = model_card(settings.embedding_model)
    return ModelCard(
        query_prefix=card.query_prefix if settings.query_prefix is None else settings.query_prefix,
        passage_prefix=card.passage_prefix if settings.passage_prefix is None else settings.passage_prefix,
        languages=card.languages if settings.embedding_languages is None else settings.embedding_languages,
        confident_spread=card.confident_spread,
    )
