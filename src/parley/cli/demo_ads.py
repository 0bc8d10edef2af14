"""The click-to-chat ads demo `parley demo` seeds: Atelier Nova, a Brazilian dressmaker with a shop on its profile
and a live campaign, so the publisher's page at /demo/feed shows its ad and a click opens its chat."""

from __future__ import annotations

from dataclasses import dataclass

from parley.container import Container
from parley.graph import GraphScope

ATELIER_PHONE = "+5511987650190"
ATELIER_OWNER = "nina@atelier-nova.example"
ATELIER_PASSWORD = "parley-demo"
ATELIER_BUDGET_MICROS = 50_000_000  # $50 in the business wallet the campaign spends from

ATELIER_PRODUCTS = (
    ("linen-dress-s", "Linen dress, size S", "Made to measure in Belo Horizonte.", "189.90 BRL", 6),
    ("linen-dress-m", "Linen dress, size M", "Made to measure in Belo Horizonte.", "189.90 BRL", 4),
    ("silk-scarf", "Silk scarf", "Hand-painted, 90 × 90 cm.", "79.00 BRL", 12),
)


@dataclass(frozen=True)
class DemoAdvertiser:
    waba_id: str
    phone: str
    ad_account: str
    campaign_id: str


async def seed_demo_advertiser(c: Container) -> DemoAdvertiser:
    """Create Atelier Nova and its campaign once; a later run finds them."""
    try:
        existing = await c.accounts.find_by_phone(ATELIER_PHONE)
    except Exception:
        existing = None
    if existing is not None:
        number = await c.business.number_of_user(existing.id)
        overview = await c.ads.overview(number.waba_id)
        campaigns = overview["campaigns"]
        first = str(campaigns[0]["id"]) if campaigns else ""
        account = overview["account"]
        return DemoAdvertiser(str(number.waba_id), ATELIER_PHONE, f"act_{account['id'] if account else ''}", first)
    created = await c.business.create_business(
        "Atelier Nova", ATELIER_PHONE, about="Linen dresses, made to measure.", app_secret=None
    )
    waba = created.waba_id
    scope = GraphScope(waba, 0, created.app_id)
    catalog = await c.catalogs.create_catalog(scope, str(waba), {"name": "Atelier Nova"})
    requests = [
        {
            "method": "CREATE",
            "data": {
                "id": retailer_id,
                "title": title,
                "description": description,
                "price": price,
                "availability": "in stock",
                "condition": "new",
                "quantity_to_sell_on_facebook": stock,
            },
        }
        for retailer_id, title, description, price, stock in ATELIER_PRODUCTS
    ]
    await c.catalogs.apply_batch(int(catalog["id"]), waba, requests)
    await c.catalogs.update_commerce_settings(scope, str(created.phone_number_id), {"is_catalog_visible": "true"})
    await c.inbox.create_agent(waba, email=ATELIER_OWNER, name="Nina (owner)", role="owner", password=ATELIER_PASSWORD)
    await c.billing.topup(waba, ATELIER_BUDGET_MICROS, "demo-ads-budget")
    bundle = await c.ads.create_bundle(
        waba,
        {"name": "Linen summer", "objective": "OUTCOME_SALES", "status": "ACTIVE"},
        {
            "name": "Brazil, Portuguese",
            "status": "ACTIVE",
            "daily_budget": 2000,  # $20.00 a day, in cents as Meta's API takes it
            "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
            "optimization_goal": "CONVERSATIONS",
            "promoted_object": {"whatsapp_phone_number": str(created.phone_number_id)},
            "targeting": {"geo_locations": {"countries": ["BR", "US"]}, "languages": ["pt", "en"]},
        },
        {
            "name": "Linen dresses",
            "status": "ACTIVE",
            "creative": {
                "headline": "Linen dresses, made to measure",
                "body": "Tell us your size and we will cut it for you this week.",
                "prefilled_text": "Hi! Do you have the linen dress in size M?",
                "welcome_message": "Thanks for writing to Atelier Nova! Nina answers within minutes.",
            },
        },
    )
    account = await c.ads.open_account(waba)
    return DemoAdvertiser(str(waba), ATELIER_PHONE, f"act_{account}", bundle["campaign_id"])
