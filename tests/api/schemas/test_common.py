"""Text and number rules every input model shares."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.schemas.listings import NeedCreate, OfferCreate
from tests.api.conftest import need_body, offer_body


@pytest.mark.parametrize(
    "title",
    [
        "\u200b\u200c\u200d\ufeff",  # zero-width characters only
        " \u2060 ",
        "Máy \u202eđảo chiều",  # right-to-left override
        "Máy\u2066 cô lập",  # isolate
        "nul\x00byte",
        "bell\x07",
    ],
)
def test_titles_refused(title: str) -> None:
    with pytest.raises(ValidationError):
        OfferCreate.model_validate(offer_body(title=title))


def test_ordinary_text_with_line_breaks_and_emoji_is_kept() -> None:
    offer = OfferCreate.model_validate(
        offer_body(title="  Cảm biến 🌱 đo mặn  ", description="Dòng 1\nDòng 2\tcột", keywords=["IoT"])
    )
    assert offer.title == "Cảm biến 🌱 đo mặn"


@pytest.mark.parametrize("field", ["description", "keywords"])
def test_nul_and_overrides_refused_in_other_text(field: str) -> None:
    value: object = "a\x00b" if field == "description" else ["ok", "\u202e"]
    with pytest.raises(ValidationError):
        NeedCreate.model_validate(need_body(**{field: value}))


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_numbers(value: bool) -> None:
    with pytest.raises(ValidationError, match="not a boolean"):
        OfferCreate.model_validate(offer_body(trl=value))
    with pytest.raises(ValidationError):
        NeedCreate.model_validate(need_body(budget_min=value))
