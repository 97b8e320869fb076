"""Dollar cost of model calls, from a per-model price table."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ModelPrice(BaseModel):
    input_per_mtok: float = Field(ge=0, description="USD per million input tokens.")
    output_per_mtok: float = Field(ge=0, description="USD per million output tokens.")


# The price-table key of models the table does not name (``Settings`` always fills it in).
UNPRICED = "*"
FREE = ModelPrice(input_per_mtok=0, output_per_mtok=0)
# What an unknown remote model costs unless configured: a mid-range price, not the dearest one.
DEFAULT_REMOTE_PRICE = ModelPrice(input_per_mtok=0.40, output_per_mtok=1.60)

DEFAULT_PRICES: dict[str, ModelPrice] = {
    "proctor-offline": FREE,
    "gpt-4o-mini": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.60),
    "gpt-4o": ModelPrice(input_per_mtok=2.50, output_per_mtok=10.00),
    "gpt-4.1-mini": ModelPrice(input_per_mtok=0.40, output_per_mtok=1.60),
    "gpt-4.1": ModelPrice(input_per_mtok=2.00, output_per_mtok=8.00),
}


def price_of(prices: dict[str, ModelPrice], model: str) -> ModelPrice | None:
    """The table's price of ``model``; a dated snapshot name ("gpt-4o-mini-2024-07-18", as
    endpoints report it) takes the price of its longest listed prefix. None when unlisted."""
    if model in prices:
        return prices[model]
    prefixes = [name for name in prices if name != UNPRICED and model.startswith(name + "-")]
    return prices[max(prefixes, key=len)] if prefixes else None


def cost_usd(prices: dict[str, ModelPrice], model: str, input_tokens: int, output_tokens: int) -> float:
    """Unlisted models cost the table's ``"*"`` entry (``Settings.unpriced_model_price``)."""
    price = price_of(prices, model) or prices.get(UNPRICED, DEFAULT_REMOTE_PRICE)
    return (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1_000_000
