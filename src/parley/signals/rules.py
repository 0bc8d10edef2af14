"""The privacy rules as data, in one place: which markets are never used for interest targeting or shared-signal
ads, the purposes a person can consent to (with the wording they are shown), and the k-anonymity floor for any
figure shown to a business or advertiser about people."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

# The EU's 27 member states and the three other EEA states (Iceland, Liechtenstein, Norway), as ISO 3166 regions.
# People whose number is in one of them are reached by market and language only, whatever they consented to.
EU_EEA_REGIONS: frozenset[str] = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
        "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
        "IS", "LI", "NO",
        # Territories that number inside EU states' plans (Réunion, Guadeloupe, Åland …) are EU too.
        "GP", "GF", "MQ", "RE", "YT", "MF", "AX",
    }
)  # fmt: skip

# k-anonymity: an aggregate about people is shown only when it covers at least this many of them.
K_ANONYMITY_MIN = 100
SUPPRESSED = f"fewer than {K_ANONYMITY_MIN}"

ADS_PERSONALISATION = "ads_personalisation"
PRODUCT_ANALYTICS = "product_analytics"


@dataclass(frozen=True)
class Purpose:
    name: str
    title: str
    wording: str  # what the person agrees to, shown beside the switch; its version comes from settings
    uses: tuple[str, ...]  # "what we use and why", one line each


PURPOSES: dict[str, Purpose] = {
    ADS_PERSONALISATION: Purpose(
        ADS_PERSONALISATION,
        "Personalised ads",
        "Parley may use the topics you choose and the signals below (how often you send messages, the kinds of "
        "businesses you write to, ads you open, purchases you make in chats) to pick the ads you see. "
        "Advertisers never see who you are: they only see totals over at least 100 people.",
        (
            "How many messages you send per day and on how many days you are active: to show fewer ads to "
            "people who rarely use Parley.",
            "The categories of businesses you write to (for example Retail or Travel): to pick ads in those "
            "categories.",
            "Ads you opened and purchases you paid in chats: to measure which ads are worth showing.",
        ),
    ),
    PRODUCT_ANALYTICS: Purpose(
        PRODUCT_ANALYTICS,
        "Product analytics",
        "Parley may count how you use the app (messages sent per day, active days) in totals over at least 100 "
        "people, to improve the product. Never the content of your messages.",
        ("How many messages you send per day and on how many days you are active: to see which features work.",),
    ),
}

NEVER_USED = (
    "The content of your messages, photos, voice notes and calls: they are end-to-end encrypted and Parley "
    "cannot read them.",
    "Your contacts and who you talk to in person-to-person chats.",
)

EU_NOTICE = (
    "Your number is in the EU/EEA. Under the EU's rules Parley never uses your activity for interest-based or "
    "shared-signal ads, whatever you choose here: ads you see are picked by your country and language only."
)


def region_of(phone: str) -> str:
    """The ISO region of an E.164 number ('' when phonenumbers cannot tell)."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return ""
    # A number outside any known range still tells its country by its calling code (+44 → GB).
    region = phonenumbers.region_code_for_number(parsed) or phonenumbers.region_code_for_country_code(
        parsed.country_code or 0
    )
    return "" if region in (None, "ZZ", "001") else region


def in_eu_eea(region: str) -> bool:
    return region.upper() in EU_EEA_REGIONS


def interest_targeting_allowed(region: str) -> bool:
    """Whether a person of this region may ever be interest-targeted (consent is checked separately)."""
    return not in_eu_eea(region)


def no_interest_markets(extra: Iterable[str] = ()) -> frozenset[str]:
    """The EU/EEA, plus markets an operator adds (`PARLEY_ADS__NO_INTEREST_MARKETS`): reached by market and
    language only. An operator can add markets, never take the EU/EEA out."""
    return EU_EEA_REGIONS | {m.upper() for m in extra}


def k_anonymous(people: int) -> int | None:
    """The count when it covers at least K_ANONYMITY_MIN people, else None (suppressed)."""
    return people if people >= K_ANONYMITY_MIN else None


def shown_count(people: int) -> str:
    """A count of people as shown to a business or advertiser: the number, or "fewer than 100"."""
    kept = k_anonymous(people)
    return SUPPRESSED if kept is None else str(kept)
