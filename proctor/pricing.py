"""Dollar cost of model calls, from a per-model price table."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ModelPrice(BaseModel):
    input_per_mtok: float = Field(ge=0, description="USD per million input tokens.")
    output_per_mtok: float = Field(ge=0, description="USD per million output tokens.")


DEFAULT_PRICES: dict[str, ModelPrice] = {
    "proctor-offline": ModelPrice(input_per_mtok=0, output_per_mtok=0),
    "gpt-4o-mini": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.60),
    "gpt-4o": ModelPrice(input_per_mtok=2.50, output_per_mtok=10.00),
    "gpt-4.1-mini": ModelPrice(input_per_mtok=0.40, output_per_mtok=1.60),
    "gpt-4.1": ModelPrice(input_per_mtok=2.00, output_per_mtok=8.00),
}


def cost_usd(prices: dict[str, ModelPrice], model: str, input_tokens: int, output_tokens: int) -> float:
    """Unknown models are priced like the most expensive known one: budgets must not under-count."""
    price = prices.get(model) or max(prices.values(), key=lambda p: p.output_per_mtok)
    return (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1_000_000
