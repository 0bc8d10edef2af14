"""Interest segments advertisers may target and people may opt into, and the market/language codes targeting
accepts. A small fixed list keeps interest targeting coarse (no micro-targeting) and the same on both sides."""

from __future__ import annotations

import phonenumbers

# name -> label, in the order people see them.
SEGMENTS: dict[str, str] = {
    "fashion": "Fashion and clothing",
    "beauty": "Beauty and personal care",
    "food": "Food and restaurants",
    "travel": "Travel and holidays",
    "sports": "Sports and fitness",
    "technology": "Phones, computers and gadgets",
    "gaming": "Games",
    "home": "Home and garden",
    "parenting": "Family and parenting",
    "automotive": "Cars and motorbikes",
    "education": "Courses and education",
    "music": "Music and events",
    "entertainment": "Films, series and shows",
    "business": "Small business and work",
    "pets": "Pets",
}

# ISO 3166-1 alpha-2 regions phonenumbers knows (every market a Parley person can be in).
COUNTRIES: frozenset[str] = frozenset(phonenumbers.SUPPORTED_REGIONS)

# ISO 639-1 codes.
LANGUAGES: frozenset[str] = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee
    el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it
    iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my
    na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn
    so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh
    zu""".split()  # noqa: SIM905 (a list literal of 184 codes would be 10 times longer)
)


def segment_named(raw: str) -> str | None:
    """A segment by its name or label (case-insensitive), or None."""
    text = raw.strip().lower()
    if text in SEGMENTS:
        return text
    for name, label in SEGMENTS.items():
        if label.lower() == text:
            return name
    return None


def segment_list() -> list[dict[str, str]]:
    return [{"name": name, "label": label} for name, label in SEGMENTS.items()]
