"""What a request is reserved at before it runs, and what it is charged when it is done.

Reservation (``estimate``): a request may be served by any offering of its model or of its fallbacks,
so it is priced at the most expensive of them, input and output separately, at the long-context tier
its input reaches (a 300k-token prompt is priced at the >272k tier, LiteLLM's #40002), and counting
a cache write (dearer than plain input on Anthropic) as possible:

    input  = est_input_tokens × max(input price, cache-write price)
    output = min(max_tokens or the model's max_output, reserve_max_output_tokens) × max(output price)
    USD    = min(input + output, reserve_max_usd)      (when a per-request cap is configured)

Tokens (for ``tpm``) are input + output as above.

Settlement (``actual``): the record's own cost and usage when it has them. A request that failed with
no usage (every attempt failed, the caller's fault) is charged nothing: providers do not bill those.
A request with no usage that did run, above all a stream whose caller disconnected (status 499, the
provider bills what it generated but no usage report ever arrives), or a provider that reported no
usage, is charged its estimate: the conservative choice, bounded by the reservation caps (no text
is counted: the record carries no streamed text). A request served with the caller's own provider
key (BYOK) costs the budget nothing unless ``charge_byok`` (its tokens still count against tpm).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from switchyard.catalog.pricing import Pricing


def _prices(p: Pricing, input_tokens: int) -> tuple[float, float]:
    inp, out, cw = p.input, p.output, p.cache_write
    best = None
    for tier in p.tiers:
        if input_tokens > tier.above and (best is None or tier.above > best.above):
            best = tier
    if best is not None:
        inp, out = best.input, best.output
        cw = best.cache_write if best.cache_write is not None else cw
    return max(inp, cw or 0.0), out


def estimate(pricings: Iterable[Pricing], input_tokens: int, max_tokens: int | None, max_output: int | None,
             reserve_max_output_tokens: int, reserve_max_usd: float | None,
             kind: str = "language") -> tuple[float, int]:
    """(USD, tokens) to reserve for a request."""
    input_tokens = max(0, int(input_tokens))
    out_tokens = 0
    if kind != "embedding":
        wanted = max_tokens if max_tokens is not None else (max_output or reserve_max_output_tokens)
        out_tokens = max(0, min(wanted, reserve_max_output_tokens))
    pin = pout = 0.0
    for p in pricings:
        i, o = _prices(p, input_tokens)
        pin, pout = max(pin, i), max(pout, o)
    usd = (input_tokens * pin + out_tokens * pout) / 1_000_000
    if reserve_max_usd is not None:
        usd = min(usd, reserve_max_usd)
    return usd, input_tokens + out_tokens


def actual(rec: Any, est_usd: float, est_tokens: int, charge_byok: bool = False) -> tuple[float, int]:
    """(USD, tokens) to charge for a finished record; see the module docstring for the choices."""
    usage = rec.usage
    if not charge_byok and _byok(rec):
        return 0.0, int(usage.input_tokens + usage.output_tokens) if usage is not None else est_tokens
    if usage is not None:
        cost = rec.cost if rec.cost is not None else est_usd
        return max(0.0, float(cost)), int(usage.input_tokens + usage.output_tokens)
    if rec.status == 499 or rec.status < 400:
        return est_usd, est_tokens  # ran (or may have) without a usage report: charge the estimate
    if rec.cost:
        return float(rec.cost), est_tokens
    return 0.0, 0  # failed before any provider billed it


def _byok(rec: Any) -> bool:
    attempts = getattr(rec, "attempts", None) or []
    served = next((a for a in reversed(attempts) if a.success), None)
    return getattr(served, "credential", "system") == "byok"


def candidate_pricing(catalog: Any, model: str, fallbacks: Sequence[str] = (),
                      routing_fallbacks: Any = None) -> tuple[list[Pricing], int | None]:
    """The pricing of every offering that may serve a request for ``model`` (with its fallbacks, the
    request's own or the routing config's), and the largest ``max_output`` among them."""
    names = [model, *(fallbacks or (routing_fallbacks or {}).get(model, ()))]
    out: list[Pricing] = []
    max_output: int | None = None
    for name in names:
        m = catalog.get(name)
        if m is None:
            continue
        offerings = m.offerings or ()
        out.extend(o.pricing for o in offerings)
        if not offerings:
            out.append(m.pricing)
        for mo in [m.max_output, *(o.max_output for o in offerings)]:
            if mo is not None and (max_output is None or mo > max_output):
                max_output = mo
    return out, max_output
