"""The AI ledger: what each version of a report cost (provider, model, prompt version, tokens, latency, money).

Prices come from ``AI_PRICES`` (per million tokens, per model); DIFY reports its
own ``total_price`` and ``currency``, which win when present.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

TOKENS_PER_PRICE_UNIT = 1_000_000
CURRENCY_SIGNS = {"USD": "US$", "TWD": "NT$", "EUR": "€", "JPY": "¥", "GBP": "£"}
NO_AI = ("offline", "")


def cost_of(model: str, prompt_tokens: int, completion_tokens: int) -> tuple[float | None, str]:
    """The cost of the tokens at the configured prices of ``model`` (None when it has no price)."""
    prices = settings.AI_PRICES.get(model) if model else None
    if not isinstance(prices, dict):
        return None, ""
    try:
        cost = (prompt_tokens * float(prices.get("input", 0)) + completion_tokens * float(prices.get("output", 0)))
    except (TypeError, ValueError):
        return None, ""
    return round(cost / TOKENS_PER_PRICE_UNIT, 6), str(prices.get("currency") or settings.AI_PRICE_CURRENCY)


def entry(*, provider: str, model: str = "", prompt_version: str = "", prompt_tokens: int = 0,
          completion_tokens: int = 0, seconds: float = 0.0, price: float | None = None, currency: str = "") -> dict:
    """One ledger entry, with the cost computed where the service did not say it."""
    if price is None:
        price, currency = cost_of(model, prompt_tokens, completion_tokens)
    return {
        "provider": provider, "model": model, "prompt_version": prompt_version,
        "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
        "latency_ms": round(seconds * 1000), "cost": price, "currency": currency if price is not None else "",
    }


def money(cost: float | None, currency: str) -> str:
    if cost is None:
        return ""
    return f"{CURRENCY_SIGNS.get(currency, currency + ' ')}{cost:,.2f}"


def label(ledger: dict) -> str:
    """ "AI · 1,234 tokens · NT$0.42" in the active language; "" when no AI wrote it."""
    if not ledger or ledger.get("provider") in NO_AI:
        return ""
    tokens = int(ledger.get("prompt_tokens") or 0) + int(ledger.get("completion_tokens") or 0)
    parts = [_("AI · %(tokens)s tokens") % {"tokens": f"{tokens:,}"}]
    if ledger.get("cost") is not None:
        parts.append(money(ledger["cost"], ledger.get("currency", "")))
    return " · ".join(parts)


def monthly_totals(versions, *, months: int) -> list[dict]:
    """Per month (newest first, ``months`` of them): versions written with AI, tokens, and cost per currency.

    ``versions`` is a queryset of ReportVersion the caller may see; the months are in the site's time zone.
    """
    now = timezone.localtime()
    keys = []
    year, month = now.year, now.month
    for _i in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    oldest = keys[-1]
    start = timezone.make_aware(datetime(int(oldest[:4]), int(oldest[5:]), 1))
    totals = {key: {"month": key, "versions": 0, "tokens": 0, "cost": {}} for key in keys}
    for created_at, entry in versions.filter(created_at__gte=start).values_list("created_at", "ledger").iterator():
        row = totals.get(f"{timezone.localtime(created_at):%Y-%m}")
        if row is None or not entry or entry.get("provider") in NO_AI:
            continue
        row["versions"] += 1
        row["tokens"] += int(entry.get("prompt_tokens") or 0) + int(entry.get("completion_tokens") or 0)
        if entry.get("cost") is not None:
            currency = entry.get("currency") or settings.AI_PRICE_CURRENCY
            row["cost"][currency] = round(row["cost"].get(currency, 0.0) + float(entry["cost"]), 6)
    for row in totals.values():
        row["label"] = " · ".join(money(cost, currency) for currency, cost in sorted(row["cost"].items()))
    return [totals[key] for key in keys]
