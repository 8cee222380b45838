"""Prices and the cost of a generation. Prices are USD per million tokens, as providers publish them."""

from __future__ import annotations

import msgspec

from switchyard.canonical import Usage


class PriceTier(msgspec.Struct, frozen=True):
    above: int  # applies when the prompt's input tokens exceed this
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


class Pricing(msgspec.Struct, frozen=True):
    input: float = 0.0
    output: float = 0.0
    cache_read: float | None = None  # None: cached input costs the input price
    cache_write: float | None = None
    tiers: list[PriceTier] = []

    def cost(self, usage: Usage) -> float:
        """USD for this usage. Cache reads and writes are billed at their own price; the rest of the
        input at the input price; reasoning tokens are output tokens."""
        inp, out, cr, cw = self.input, self.output, self.cache_read, self.cache_write
        best: PriceTier | None = None  # the matching tier with the highest threshold, in any order
        for tier in self.tiers:
            if usage.input_tokens > tier.above and (best is None or tier.above > best.above):
                best = tier
        if best is not None:
            inp, out = best.input, best.output
            cr = best.cache_read if best.cache_read is not None else cr
            cw = best.cache_write if best.cache_write is not None else cw
        plain = max(0, usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens)
        total = (plain * inp + usage.output_tokens * out
                 + usage.cache_read_tokens * (inp if cr is None else cr)
                 + usage.cache_write_tokens * (inp if cw is None else cw))
        return total / 1_000_000

    def per_token(self) -> dict[str, str]:
        """Prices per single token as decimal strings (the AI SDK's and OpenRouter's convention)."""
        out = {"input": _per_token(self.input), "output": _per_token(self.output)}
        if self.cache_read is not None:
            out["input_cache_read"] = _per_token(self.cache_read)
        if self.cache_write is not None:
            out["input_cache_write"] = _per_token(self.cache_write)
        return out


def _per_token(per_million: float) -> str:
    return format_usd(per_million / 1_000_000)


def format_usd(amount: float) -> str:
    """A decimal string without exponent or trailing zeros: 0.0000025 -> "0.0000025"."""
    text = f"{amount:.12f}".rstrip("0").rstrip(".")
    return text or "0"
