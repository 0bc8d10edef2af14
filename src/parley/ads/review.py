"""Creative review: the stated rules an ad's texts, media and destination must meet before it may serve, and the
ad-quality score the auction multiplies bids by. Deterministic and instant, so an advertiser sees the verdict (and
the rule it names) in the answer to the create or edit.

Rules (the first one broken is the reason, docs/ads-api.md):
  TEXT_TOO_LONG        headline over 40 characters or body over 500
  ALL_CAPS             headline or body shouting: 10+ letters, more than 70 % of them capitals
  REPEATED_PUNCTUATION "!!" or "??" anywhere
  LINK_IN_TEXT         a URL or web address in the text (the button is the destination)
  PHONE_IN_TEXT        a phone number (7+ digits) in the text
  PROHIBITED_CONTENT   a word of the prohibited list (weapons, drugs, tobacco, adult, financial promises ...)
  DESTINATION_NUMBER   the chat's number is not connected, or its quality rating is RED (flagged)

Quality (0..1): 0.5 base; +0.2 image or +0.25 video; +0.1 body within the recommended 125 characters, else -0.05
per further 125 started; +0.05 headline within 25 characters; +0.05 a welcome message; -0.1 destination number
quality YELLOW. A disapproved ad's quality is 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

APPROVED, DISAPPROVED, PENDING = "APPROVED", "DISAPPROVED", "PENDING_REVIEW"
RECOMMENDED_BODY = 125
PROHIBITED = (
    "gun", "guns", "firearm", "firearms", "ammunition", "ammo", "rifle", "pistol", "explosive", "explosives",
    "cocaine", "heroin", "cannabis", "marijuana", "weed", "meth", "opioid", "opioids", "steroids",
    "cigarette", "cigarettes", "tobacco", "vape", "vapes", "e-cigarette", "cigar", "cigars",
    "porn", "xxx", "escort", "escorts", "nude", "nudes", "adult content",
    "guaranteed returns", "guaranteed income", "get rich quick", "double your money", "risk-free investment",
    "casino", "betting",
)  # fmt: skip
_PROHIBITED = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in PROHIBITED) + r")(?![\w-])", re.IGNORECASE)
_LINK = re.compile(
    r"(https?://|www\.|\b[a-z0-9-]+\.(com|net|org|io|co|biz|info|me|ly|app|shop|store|xyz)\b)", re.IGNORECASE
)
_PHONE = re.compile(r"\+?\d(?:[\s().-]?\d){6,}")


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str | None
    quality: float


@dataclass(frozen=True)
class CreativeForReview:
    headline: str
    body: str
    media_type: str | None
    welcome_message: str
    number_status: str  # CONNECTED | ...
    number_quality: str  # GREEN | YELLOW | RED


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 10 and sum(c.isupper() for c in letters) > 0.7 * len(letters)


def broken_rule(creative: CreativeForReview) -> str | None:
    """The first rule the creative breaks, as `RULE: what`, or None."""
    texts = {"headline": creative.headline, "body": creative.body, "welcome message": creative.welcome_message}
    if len(creative.headline) > 40 or len(creative.body) > 500:
        return "TEXT_TOO_LONG: the headline may have 40 characters and the body 500"
    for name, text in texts.items():
        if _shouting(text):
            return f"ALL_CAPS: the {name} is written in capitals"
        if "!!" in text or "??" in text:
            return f"REPEATED_PUNCTUATION: the {name} repeats '!' or '?'"
        if _LINK.search(text):
            return f"LINK_IN_TEXT: the {name} contains a web address (the button opens the chat)"
        if _PHONE.search(text):
            return f"PHONE_IN_TEXT: the {name} contains a phone number (the button opens the chat)"
        found = _PROHIBITED.search(text)
        if found:
            return f"PROHIBITED_CONTENT: the {name} mentions '{found.group(1).lower()}'"
    if creative.number_status != "CONNECTED":
        return f"DESTINATION_NUMBER: the chat's number is {creative.number_status.lower()}, not connected"
    if creative.number_quality == "RED":
        return "DESTINATION_NUMBER: the chat's number is flagged for low quality"
    return None


def quality(creative: CreativeForReview) -> float:
    score = 0.5
    if creative.media_type == "video":
        score += 0.25
    elif creative.media_type == "image":
        score += 0.2
    if len(creative.body) <= RECOMMENDED_BODY:
        score += 0.1
    else:
        score -= 0.05 * -(-(len(creative.body) - RECOMMENDED_BODY) // RECOMMENDED_BODY)
    if len(creative.headline) <= 25:
        score += 0.05
    if creative.welcome_message:
        score += 0.05
    if creative.number_quality == "YELLOW":
        score -= 0.1
    return round(min(1.0, max(0.0, score)), 4)


def review(creative: CreativeForReview) -> Verdict:
    reason = broken_rule(creative)
    if reason is not None:
        return Verdict(DISAPPROVED, reason, 0.0)
    return Verdict(APPROVED, None, quality(creative))
