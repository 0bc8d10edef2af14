"""Template review as pure functions: the request shape (refused at once) and the content rules (the review).

Two stages, as at Meta:

1. `parse_submission` / `parse_edit` check the request itself. A request that is not a template at all (missing
   or mistyped fields, a name outside `^[a-z0-9_]{1,512}$`, an unknown language, category, parameter format or
   component type) is refused synchronously with GraphError 100 and never becomes a template.
2. `review` decides a stored submission later (the review loop), first failing rule wins, in this order:

   a. ABUSIVE_CONTENT: any text (header, body, footer, button labels) contains a word of `ABUSIVE_PATTERNS`.
   b. INVALID_FORMAT, AUTHENTICATION templates: the fixed OTP format only: no HEADER; one BODY without
      free `text` (`add_security_recommendation` optional); FOOTER only `code_expiration_minutes` 1..90;
      BUTTONS exactly one OTP button, `otp_type` COPY_CODE | ONE_TAP | ZERO_TAP (the autofill ones name the
      Android app: `supported_apps` or `package_name` + an 11-character `signature_hash`; ZERO_TAP also
      `zero_tap_terms_accepted: true`).
   c. INVALID_FORMAT, other templates:
      * exactly one BODY with text of 1..1024 characters; at most one HEADER, FOOTER and BUTTONS;
        CAROUSEL and LIMITED_TIME_OFFER are not supported here;
      * HEADER TEXT 1..60 characters with at most one variable; IMAGE, VIDEO, DOCUMENT need a sample
        (`example.header_handle`); LOCATION takes nothing;
      * FOOTER 1..60 characters, no variables;
      * BUTTONS 1..10: QUICK_REPLY (text 1..25), URL (text 1..25, http(s) url up to 2000 characters, at most one
        variable and only at its very end, with a sample url), PHONE_NUMBER (text 1..25, 5..20 digits,
        at most one), COPY_CODE (a sample code of 1..15 characters, at most one), FLOW (text 1..25 and one of
        `flow_id`, `flow_name`, `flow_json`), CATALOG and MPM (text 1..25, at most one each); at most two URL;
      * variables are `{{1}}`, `{{2}}`... numbered from 1 without gaps (POSITIONAL, per component) or
        `{{snake_case}}` (NAMED), never mixed and always the kind `parameter_format` declares; every variable has
        a sample (`example.body_text` / `body_text_named_params`, `header_text` / `header_text_named_params`);
      * the body neither starts nor ends with a variable (trailing punctuation after the last one is fine);
      * at most one variable per `WORDS_PER_VARIABLE` (3) words of body, variables counted as words.
   d. Category, other templates: an OTP button => TAG_CONTENT_MISMATCH (only AUTHENTICATION templates carry
      one); verification-code wording (`OTP_PATTERNS`) => INCORRECT_CATEGORY.
   e. Otherwise APPROVED. A UTILITY template with promotional wording (`PROMOTIONAL_PATTERNS`) is approved as
      MARKETING (Meta's rule since April 2025): the decision's category differs from the submitted one.

PROMOTIONAL and SCAM exist in Meta's list of reasons; this review never produces them (Meta re-categorises
promotional utility templates instead of rejecting them).

Quality: `quality_score(sends, negatives)` over the last 7 UTC days of a template:
RED when there are at least 5 negative signals and they are at least 5 % of sends; otherwise UNKNOWN below
20 sends; YELLOW at 2 % or more; GREEN below. `pause_step(pause_count)` is Meta's ladder for a template that
turns RED while approved: paused 3 h the first time, 6 h the second, disabled the third.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote

from parley.graph import GraphError

NAME_PATTERN: Final = re.compile(r"^[a-z0-9_]{1,512}$")

# Meta's supported template languages and locales.
LANGUAGES: Final = frozenset(
    {
        "af", "sq", "ar", "ar_EG", "ar_AE", "ar_LB", "ar_MA", "ar_QA", "ar_SA", "az", "be_BY", "bn", "bn_IN",
        "bg", "ca", "zh_CN", "zh_HK", "zh_TW", "hr", "cs", "da", "prs_AF", "nl", "nl_BE", "en", "en_GB", "en_US",
        "en_AE", "en_AU", "en_CA", "en_GH", "en_IE", "en_IN", "en_JM", "en_MY", "en_NZ", "en_QA", "en_SG",
        "en_UG", "en_ZA", "et", "fil", "fi", "fr", "fr_BE", "fr_CA", "fr_CH", "fr_CI", "fr_MA", "ka", "de",
        "de_AT", "de_CH", "el", "gu", "ha", "he", "hi", "hu", "id", "ga", "it", "ja", "kn", "kk", "rw_RW", "ko",
        "ky_KG", "lo", "lv", "lt", "mk", "ms", "ml", "mr", "nb", "ps_AF", "fa", "pl", "pt_BR", "pt_PT", "pa",
        "ro", "ru", "sr", "si_LK", "sk", "sl", "es", "es_AR", "es_CL", "es_CO", "es_CR", "es_DO", "es_EC",
        "es_HN", "es_MX", "es_PA", "es_PE", "es_ES", "es_UY", "es_VE", "sw", "sv", "ta", "te", "th", "tr", "uk",
        "ur", "uz", "vi", "zu",
    }
)  # fmt: skip

CATEGORIES: Final = ("MARKETING", "UTILITY", "AUTHENTICATION")
PARAMETER_FORMATS: Final = ("POSITIONAL", "NAMED")
COMPONENT_TYPES: Final = frozenset({"HEADER", "BODY", "FOOTER", "BUTTONS", "CAROUSEL", "LIMITED_TIME_OFFER"})
HEADER_FORMATS: Final = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION")
MEDIA_HEADER_FORMATS: Final = ("IMAGE", "VIDEO", "DOCUMENT")
BUTTON_TYPES: Final = frozenset({"QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP", "FLOW", "CATALOG", "MPM"})
OTP_TYPES: Final = ("COPY_CODE", "ONE_TAP", "ZERO_TAP")

BODY_MAX: Final = 1024
HEADER_TEXT_MAX: Final = 60
FOOTER_MAX: Final = 60
BUTTON_TEXT_MAX: Final = 25
BUTTONS_MAX: Final = 10
URL_MAX: Final = 2000
COUPON_MAX: Final = 15
WORDS_PER_VARIABLE: Final = 3

# Decision statuses and reasons (Meta's names).
APPROVED, REJECTED, PENDING, PAUSED, DISABLED = "APPROVED", "REJECTED", "PENDING", "PAUSED", "DISABLED"
NONE, INVALID_FORMAT, INCORRECT_CATEGORY = "NONE", "INVALID_FORMAT", "INCORRECT_CATEGORY"
PROMOTIONAL, ABUSIVE_CONTENT, TAG_CONTENT_MISMATCH = "PROMOTIONAL", "ABUSIVE_CONTENT", "TAG_CONTENT_MISMATCH"

# Promotional wording: a UTILITY template that uses any of these is approved as MARKETING.
PROMOTIONAL_PATTERNS: Final = (
    r"\boffers?\b",
    r"\bsale\b",
    r"\bdiscounts?\b",
    r"%\s*off\b",
    r"\bpromos?\b",
    r"\bpromo\s*codes?\b",
    r"\bbuy\s+now\b",
    r"\bshop\s+now\b",
    r"\blimited[\s-]+time\b",
    r"\bdeals?\b",
    r"\bcoupons?\b",
    r"\bvouchers?\b",
    r"\bfree\s+shipping\b",
    r"\bclearance\b",
    r"\bcashback\b",
    r"\bblack\s+friday\b",
    r"\bsave\s+up\s+to\b",
)

# Abusive wording: rejected as ABUSIVE_CONTENT whatever the category.
ABUSIVE_PATTERNS: Final = (
    r"\bidiots?\b",
    r"\bstupid\b",
    r"\bmorons?\b",
    r"\bimbeciles?\b",
    r"\blosers?\b",
    r"\bscum\b",
    r"\bbastards?\b",
    r"\bfuck\w*",
    r"\bshit\w*",
    r"\bbitch\w*",
    r"\bkill\s+you\b",
    r"\bhurt\s+you\b",
    r"\bhate\s+you\b",
    r"\bshut\s+up\b",
    r"\bpay\s+or\s+else\b",
)

# Verification-code wording: belongs in an AUTHENTICATION template.
OTP_PATTERNS: Final = (
    r"\bverification\s+code\b",
    r"\bone[\s-]+time\s+(?:password|passcode|code)\b",
    r"\botp\b",
    r"\bpasscode\b",
    r"\blogin\s+code\b",
)

_PROMOTIONAL = [re.compile(p, re.IGNORECASE) for p in PROMOTIONAL_PATTERNS]
_ABUSIVE = [re.compile(p, re.IGNORECASE) for p in ABUSIVE_PATTERNS]
_OTP = [re.compile(p, re.IGNORECASE) for p in OTP_PATTERNS]

VARIABLE: Final = re.compile(r"\{\{(.*?)\}\}")
_POSITIONAL_NAME = re.compile(r"^[1-9][0-9]*$")
_NAMED_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_WORD = re.compile(r"\w+")
_PHONE = re.compile(r"^\+?[0-9]{5,20}$")


@dataclass(frozen=True)
class Submission:
    """A template as submitted: what the review judges and what is stored."""

    name: str
    language: str
    category: str
    parameter_format: str
    components: list[dict[str, Any]] = field(default_factory=list)
    message_send_ttl_seconds: int | None = None


@dataclass(frozen=True)
class EditRequest:
    """The parts of a template an edit may replace (None: keep)."""

    category: str | None
    components: list[dict[str, Any]] | None
    parameter_format: str | None
    message_send_ttl_seconds: int | None
    name: str | None
    language: str | None


@dataclass(frozen=True)
class Decision:
    status: str  # APPROVED | REJECTED
    category: str  # the category the template is approved as
    reason: str  # NONE | INVALID_FORMAT | INCORRECT_CATEGORY | PROMOTIONAL | ABUSIVE_CONTENT | TAG_CONTENT_MISMATCH
    message: str  # for people: why, and what to change


# ---------------------------------------------------------------------------------------------------------------
# Stage 1: the request shape (synchronous)


def _refuse(details: str) -> GraphError:
    return GraphError(100, details)


def check_name(name: object) -> str:
    if not isinstance(name, str):
        raise _refuse("name is required and must be a string")
    if not NAME_PATTERN.match(name):
        raise _refuse(f"template name {name[:64]!r} is invalid: use 1 to 512 lowercase letters, digits and underscores")
    return name


def check_language(language: object) -> str:
    if not isinstance(language, str):
        raise _refuse("language is required and must be a locale code such as en_US")
    if language not in LANGUAGES:
        raise _refuse(f"language {language[:32]!r} is not a supported template language or locale")
    return language


def check_category(category: object) -> str:
    if not isinstance(category, str) or category.upper() not in CATEGORIES:
        raise _refuse("category must be one of MARKETING, UTILITY, AUTHENTICATION")
    return category.upper()


def check_parameter_format(value: object) -> str:
    if value is None:
        return "POSITIONAL"
    if not isinstance(value, str) or value.upper() not in PARAMETER_FORMATS:
        raise _refuse("parameter_format must be POSITIONAL or NAMED")
    return value.upper()


def check_ttl(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise _refuse("message_send_ttl_seconds must be an integer number of seconds")
    return value


def _check_str(value: object, where: str) -> None:
    if value is not None and not isinstance(value, str):
        raise _refuse(f"{where} must be a string")


def check_components(components: object) -> list[dict[str, Any]]:
    """The components' shape (types of fields), normalised: component and button types upper-cased."""
    if not isinstance(components, list) or not components:
        raise _refuse("components is required and must be a non-empty list")
    normalised: list[dict[str, Any]] = []
    for i, component in enumerate(components):
        where = f"components[{i}]"
        if not isinstance(component, dict):
            raise _refuse(f"{where} must be an object")
        kind = component.get("type")
        if not isinstance(kind, str) or kind.upper() not in COMPONENT_TYPES:
            raise _refuse(f"{where}.type must be one of HEADER, BODY, FOOTER, BUTTONS")
        out = dict(component)
        out["type"] = kind.upper()
        for key in ("text", "format"):
            _check_str(component.get(key), f"{where}.{key}")
        if isinstance(component.get("format"), str):
            out["format"] = component["format"].upper()
        if "example" in component and not isinstance(component["example"], dict):
            raise _refuse(f"{where}.example must be an object")
        security = component.get("add_security_recommendation")
        if security is not None and not isinstance(security, bool):
            raise _refuse(f"{where}.add_security_recommendation must be true or false")
        minutes = component.get("code_expiration_minutes")
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int)):
            raise _refuse(f"{where}.code_expiration_minutes must be an integer")
        if out["type"] == "BUTTONS":
            out["buttons"] = _check_buttons_shape(component.get("buttons"), where)
        normalised.append(out)
    return normalised


def _check_buttons_shape(buttons: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(buttons, list):
        raise _refuse(f"{where}.buttons must be a list")
    out: list[dict[str, Any]] = []
    for j, button in enumerate(buttons):
        at = f"{where}.buttons[{j}]"
        if not isinstance(button, dict):
            raise _refuse(f"{at} must be an object")
        kind = button.get("type")
        if not isinstance(kind, str) or not kind.strip():
            raise _refuse(f"{at}.type is required")
        for key in ("text", "url", "phone_number", "otp_type", "flow_id", "flow_name", "navigate_screen"):
            _check_str(button.get(key), f"{at}.{key}")
        normalised = dict(button)
        normalised["type"] = kind.upper()
        if isinstance(button.get("otp_type"), str):
            normalised["otp_type"] = button["otp_type"].upper()
        out.append(normalised)
    return out


def parse_submission(body: object) -> Submission:
    """A create request, or GraphError 100 saying what is wrong with it."""
    if not isinstance(body, dict):
        raise _refuse("the request body must be a JSON object describing the template")
    return Submission(
        name=check_name(body.get("name")),
        language=check_language(body.get("language")),
        category=check_category(body.get("category")),
        parameter_format=check_parameter_format(body.get("parameter_format")),
        components=check_components(body.get("components")),
        message_send_ttl_seconds=check_ttl(body.get("message_send_ttl_seconds")),
    )


def parse_edit(body: object) -> EditRequest:
    if not isinstance(body, dict):
        raise _refuse("the request body must be a JSON object")
    category = check_category(body["category"]) if body.get("category") is not None else None
    components = check_components(body["components"]) if body.get("components") is not None else None
    parameter_format = (
        check_parameter_format(body["parameter_format"]) if body.get("parameter_format") is not None else None
    )
    ttl = check_ttl(body.get("message_send_ttl_seconds"))
    name = check_name(body["name"]) if body.get("name") is not None else None
    language = check_language(body["language"]) if body.get("language") is not None else None
    if category is None and components is None and parameter_format is None and ttl is None:
        raise _refuse("nothing to edit: give components, category, parameter_format or message_send_ttl_seconds")
    return EditRequest(category, components, parameter_format, ttl, name, language)


# ---------------------------------------------------------------------------------------------------------------
# Stage 2: the review (asynchronous)


class _Rejection(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def texts_of(components: list[dict[str, Any]]) -> list[str]:
    """Every piece of text a person would read: header, body, footer, button labels."""
    texts: list[str] = []
    for component in components:
        text = component.get("text")
        if isinstance(text, str):
            texts.append(text)
        for button in component.get("buttons") or []:
            if isinstance(button, dict) and isinstance(button.get("text"), str):
                texts.append(button["text"])
    return texts


def _first_match(patterns: list[re.Pattern[str]], texts: list[str]) -> str | None:
    for text in texts:
        for pattern in patterns:
            found = pattern.search(text)
            if found:
                return found.group(0)
    return None


def find_abusive(texts: list[str]) -> str | None:
    return _first_match(_ABUSIVE, texts)


def find_promotional(texts: list[str]) -> str | None:
    return _first_match(_PROMOTIONAL, texts)


def find_otp_wording(texts: list[str]) -> str | None:
    return _first_match(_OTP, texts)


def variables_in(text: str) -> list[str]:
    """The variable names of a text, in order of appearance (`"Hi {{1}} and {{2}}"` -> `["1", "2"]`)."""
    return [m.group(1) for m in VARIABLE.finditer(text)]


def distinct_variables(text: str) -> list[str]:
    return list(dict.fromkeys(variables_in(text)))


def check_variables(text: str, parameter_format: str, where: str) -> str | None:
    """None when the variables of `text` are well formed for `parameter_format`, else why not."""
    names = variables_in(text)
    if "{{" in VARIABLE.sub("", text) or "}}" in VARIABLE.sub("", text):
        return f"{where} has an unmatched '{{{{' or '}}}}'"
    for name in names:
        positional = bool(_POSITIONAL_NAME.match(name))
        named = bool(_NAMED_NAME.match(name))
        if not positional and not named:
            return f"{where} has a malformed variable {{{{{name}}}}}: use {{{{1}}}} or {{{{snake_case}}}}"
        if parameter_format == "POSITIONAL" and not positional:
            return f"{where} uses the named variable {{{{{name}}}}} but parameter_format is POSITIONAL"
        if parameter_format == "NAMED" and not named:
            return f"{where} uses the positional variable {{{{{name}}}}} but parameter_format is NAMED"
    if parameter_format == "POSITIONAL" and names:
        numbers = {int(n) for n in names}
        expected = set(range(1, max(numbers) + 1))
        if numbers != expected:
            missing = ", ".join(f"{{{{{n}}}}}" for n in sorted(expected - numbers))
            return f"{where} variables must be numbered from {{{{1}}}} without gaps (missing {missing})"
    return None


def check_variable_placement(body: str) -> str | None:
    """The body may neither start nor end with a variable (punctuation after the last one is text)."""
    stripped = body.strip()
    spans = [m.span() for m in VARIABLE.finditer(stripped)]
    if spans and spans[0][0] == 0:
        return "the body cannot start with a variable: add text before it"
    if spans and spans[-1][1] == len(stripped):
        return "the body cannot end with a variable: add text after it"
    return None


def check_variable_density(body: str) -> str | None:
    """At most one variable per WORDS_PER_VARIABLE words (variables count as words)."""
    variables = len(variables_in(body))
    if variables == 0:
        return None
    words = len(_WORD.findall(VARIABLE.sub(" ", body))) + variables
    if variables * WORDS_PER_VARIABLE > words:
        return (
            f"too many variables for the length of the body ({variables} variables in {words} words; "
            f"at most one per {WORDS_PER_VARIABLE} words): add text or remove variables"
        )
    return None


def _example_body_positional(example: dict[str, Any], count: int) -> str | None:
    rows = example.get("body_text")
    if not (isinstance(rows, list) and rows and isinstance(rows[0], list)):
        return 'the body has variables: give sample values in example.body_text, e.g. [["Mark", "FALL25"]]'
    row = rows[0]
    if len(row) != count or not all(isinstance(v, str | int | float) and str(v).strip() for v in row):
        return f"example.body_text must give exactly {count} non-empty sample values, one per variable"
    return None


def _example_named(example: dict[str, Any], key: str, names: list[str]) -> str | None:
    items = example.get(key)
    if not isinstance(items, list):
        return f'the variables need samples in example.{key}: [{{"param_name": ..., "example": ...}}]'
    given: dict[str, object] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("param_name"), str):
            return f"every item of example.{key} needs a param_name and an example"
        given[item["param_name"]] = item.get("example")
    missing = [n for n in names if not (isinstance(given.get(n), str | int | float) and str(given[n]).strip())]
    if missing:
        return f"example.{key} has no sample for {', '.join(missing)}"
    extra = sorted(set(given) - set(names))
    if extra:
        return f"example.{key} names variables the text does not use: {', '.join(extra)}"
    return None


def check_body(component: dict[str, Any], parameter_format: str) -> str | None:
    text = component.get("text")
    if not isinstance(text, str) or not text.strip():
        return "the BODY needs text"
    if len(text) > BODY_MAX:
        return f"the body is {len(text)} characters; at most {BODY_MAX}"
    problem = check_variables(text, parameter_format, "the body")
    if problem:
        return problem
    names = distinct_variables(text)
    if names:
        example = component.get("example") or {}
        problem = (
            _example_body_positional(example, len(names))
            if parameter_format == "POSITIONAL"
            else _example_named(example, "body_text_named_params", names)
        )
        if problem:
            return problem
    return check_variable_placement(text) or check_variable_density(text)


def check_header(component: dict[str, Any], parameter_format: str) -> str | None:
    header_format = component.get("format")
    if header_format not in HEADER_FORMATS:
        return f"HEADER format must be one of {', '.join(HEADER_FORMATS)}"
    example = component.get("example") or {}
    if header_format == "TEXT":
        text = component.get("text")
        if not isinstance(text, str) or not text.strip():
            return "a TEXT header needs text"
        if len(text) > HEADER_TEXT_MAX:
            return f"the header is {len(text)} characters; at most {HEADER_TEXT_MAX}"
        problem = check_variables(text, parameter_format, "the header")
        if problem:
            return problem
        names = distinct_variables(text)
        if len(names) > 1:
            return "a header can have at most one variable"
        if names:
            if parameter_format == "POSITIONAL":
                samples = example.get("header_text")
                if isinstance(samples, str):
                    samples = [samples]
                if not (isinstance(samples, list) and len(samples) == 1 and str(samples[0]).strip()):
                    return "the header variable needs one sample value in example.header_text"
            else:
                return _example_named(example, "header_text_named_params", names)
        return None
    if component.get("text"):
        return f"a {header_format} header has no text"
    if header_format in MEDIA_HEADER_FORMATS:
        handles = example.get("header_handle")
        if not (isinstance(handles, list) and handles and all(isinstance(h, str) and h for h in handles)):
            return f"a {header_format} header needs a sample: example.header_handle from the resumable upload API"
    return None


def check_footer(component: dict[str, Any]) -> str | None:
    text = component.get("text")
    if not isinstance(text, str) or not text.strip():
        return "the FOOTER needs text"
    if len(text) > FOOTER_MAX:
        return f"the footer is {len(text)} characters; at most {FOOTER_MAX}"
    if VARIABLE.search(text):
        return "the footer cannot have variables"
    return None


def _button_text(button: dict[str, Any], where: str) -> str | None:
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        return f"{where} needs text"
    if len(text) > BUTTON_TEXT_MAX:
        return f"{where} text is {len(text)} characters; at most {BUTTON_TEXT_MAX}"
    if VARIABLE.search(text):
        return f"{where} text cannot have variables"
    return None


def check_url_button(button: dict[str, Any], where: str) -> str | None:
    problem = _button_text(button, where)
    if problem:
        return problem
    url = button.get("url")
    if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
        return f"{where} needs an http(s) url"
    if len(url) > URL_MAX:
        return f"{where} url is {len(url)} characters; at most {URL_MAX}"
    names = variables_in(url)
    if len(names) > 1:
        return f"{where} url can have at most one variable"
    if names:
        if names != ["1"] or not url.endswith("{{1}}"):
            return f"{where} url can only have the variable {{{{1}}}}, at its very end"
        sample = button.get("example")
        if isinstance(sample, list):
            sample = sample[0] if len(sample) == 1 else None
        if not (isinstance(sample, str) and sample.strip()):
            return f"{where} url has a variable: give a sample url in example"
    return None


def check_buttons(component: dict[str, Any]) -> str | None:
    buttons: list[dict[str, Any]] = component.get("buttons") or []
    if not buttons:
        return "BUTTONS needs at least one button"
    if len(buttons) > BUTTONS_MAX:
        return f"a template can have at most {BUTTONS_MAX} buttons"
    counts: dict[str, int] = {}
    for j, button in enumerate(buttons):
        kind = button["type"]
        where = f"button {j} ({kind})"
        counts[kind] = counts.get(kind, 0) + 1
        if kind not in BUTTON_TYPES:
            return f"{where}: {kind} buttons are not supported"
        problem: str | None = None
        if kind in ("QUICK_REPLY", "CATALOG", "MPM"):
            problem = _button_text(button, where)
        elif kind == "URL":
            problem = check_url_button(button, where)
        elif kind == "PHONE_NUMBER":
            problem = _button_text(button, where)
            if problem is None and not _PHONE.match(str(button.get("phone_number") or "")):
                problem = f"{where} needs a phone_number of 5 to 20 digits"
        elif kind == "COPY_CODE":
            sample = button.get("example")
            if isinstance(sample, list):
                sample = sample[0] if len(sample) == 1 else None
            if not (isinstance(sample, str) and 0 < len(sample) <= COUPON_MAX):
                problem = f"{where} needs a sample code of 1 to {COUPON_MAX} characters in example"
        elif kind == "FLOW":
            problem = _button_text(button, where)
            if problem is None and not any(button.get(k) for k in ("flow_id", "flow_name", "flow_json")):
                problem = f"{where} needs flow_id, flow_name or flow_json"
            action = button.get("flow_action")
            if problem is None and action is not None and str(action).lower() not in ("navigate", "data_exchange"):
                problem = f"{where} flow_action must be navigate or data_exchange"
        if problem:
            return problem
    for kind, limit in (("URL", 2), ("PHONE_NUMBER", 1), ("COPY_CODE", 1), ("FLOW", 1), ("CATALOG", 1), ("MPM", 1)):
        if counts.get(kind, 0) > limit:
            return f"a template can have at most {limit} {kind} button{'s' if limit > 1 else ''}"
    return None


def _one_of_each(components: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], str | None]:
    by_type: dict[str, dict[str, Any]] = {}
    for component in components:
        kind = component["type"]
        if kind in by_type:
            return by_type, f"a template can have only one {kind} component"
        by_type[kind] = component
    if "BODY" not in by_type:
        return by_type, "a template needs exactly one BODY component"
    return by_type, None


def check_standard_format(sub: Submission) -> str | None:
    """INVALID_FORMAT findings of a MARKETING or UTILITY template, or None."""
    by_type, problem = _one_of_each(sub.components)
    if problem:
        return problem
    for unsupported in ("CAROUSEL", "LIMITED_TIME_OFFER"):
        if unsupported in by_type:
            return f"{unsupported} templates are not supported"
    if "HEADER" in by_type:
        problem = check_header(by_type["HEADER"], sub.parameter_format)
        if problem:
            return problem
    problem = check_body(by_type["BODY"], sub.parameter_format)
    if problem:
        return problem
    if "FOOTER" in by_type:
        problem = check_footer(by_type["FOOTER"])
        if problem:
            return problem
    if "BUTTONS" in by_type:
        return check_buttons(by_type["BUTTONS"])
    return None


def check_authentication_format(sub: Submission) -> str | None:
    """INVALID_FORMAT findings of an AUTHENTICATION template (Meta's fixed OTP format), or None."""
    by_type, problem = _one_of_each(sub.components)
    if problem:
        return problem
    extra = sorted(set(by_type) - {"BODY", "FOOTER", "BUTTONS"})
    if extra:
        return f"authentication templates have only BODY, FOOTER and BUTTONS (not {', '.join(extra)})"
    body = by_type["BODY"]
    if body.get("text") is not None or body.get("example") is not None:
        return "authentication templates use Meta's fixed text: the BODY takes only add_security_recommendation"
    footer = by_type.get("FOOTER")
    if footer is not None:
        minutes = footer.get("code_expiration_minutes")
        if footer.get("text") is not None or not isinstance(minutes, int) or not 1 <= minutes <= 90:
            return "the FOOTER of an authentication template takes only code_expiration_minutes, 1 to 90"
    buttons = by_type.get("BUTTONS", {}).get("buttons") or []
    if len(buttons) != 1 or buttons[0]["type"] != "OTP":
        return "authentication templates need exactly one OTP button"
    button = buttons[0]
    otp_type = button.get("otp_type")
    if otp_type not in OTP_TYPES:
        return f"the OTP button's otp_type must be one of {', '.join(OTP_TYPES)}"
    text = button.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > BUTTON_TEXT_MAX):
        return f"the OTP button text can have at most {BUTTON_TEXT_MAX} characters"
    if otp_type in ("ONE_TAP", "ZERO_TAP"):
        apps = button.get("supported_apps")
        if apps is None and button.get("package_name") is not None:
            apps = [{"package_name": button.get("package_name"), "signature_hash": button.get("signature_hash")}]
        if not isinstance(apps, list) or not apps:
            return f"a {otp_type} button names the Android app: supported_apps [{{package_name, signature_hash}}]"
        for app in apps:
            if not (
                isinstance(app, dict)
                and isinstance(app.get("package_name"), str)
                and 0 < len(app["package_name"]) <= 224
                and isinstance(app.get("signature_hash"), str)
                and len(unquote(app["signature_hash"])) == 11  # Meta's own examples URL-encode it
            ):
                return "every supported app needs a package_name and an 11-character signature_hash"
        if otp_type == "ZERO_TAP" and button.get("zero_tap_terms_accepted") is not True:
            return "a ZERO_TAP button needs zero_tap_terms_accepted: true"
    return None


def _has_otp_button(components: list[dict[str, Any]]) -> bool:
    return any(b.get("type") == "OTP" for c in components for b in (c.get("buttons") or []) if isinstance(b, dict))


def _review(sub: Submission) -> Decision:
    texts = texts_of(sub.components)
    abusive = find_abusive(texts)
    if abusive:
        raise _Rejection(ABUSIVE_CONTENT, f"the template contains abusive wording ({abusive!r})")
    if sub.category == "AUTHENTICATION":
        problem = check_authentication_format(sub)
        if problem:
            raise _Rejection(INVALID_FORMAT, problem)
        return Decision(APPROVED, sub.category, NONE, "approved")
    problem = check_standard_format(sub)
    if problem:
        raise _Rejection(INVALID_FORMAT, problem)
    if _has_otp_button(sub.components):
        raise _Rejection(TAG_CONTENT_MISMATCH, "OTP buttons belong only in AUTHENTICATION templates")
    otp_wording = find_otp_wording(texts)
    if otp_wording:
        raise _Rejection(
            INCORRECT_CATEGORY,
            f"the template sends a code ({otp_wording!r}): submit it as an AUTHENTICATION template",
        )
    if sub.category == "UTILITY":
        promotional = find_promotional(texts)
        if promotional:
            return Decision(
                APPROVED,
                "MARKETING",
                NONE,
                f"approved as MARKETING: promotional wording ({promotional!r}) is not utility content",
            )
    return Decision(APPROVED, sub.category, NONE, "approved")


def review(sub: Submission) -> Decision:
    """The review's decision on a submission (see the module docstring for the rules and their order)."""
    try:
        return _review(sub)
    except _Rejection as rejection:
        return Decision(REJECTED, sub.category, rejection.reason, rejection.message)


# ---------------------------------------------------------------------------------------------------------------
# Quality


QUALITY_WINDOW_DAYS: Final = 7
QUALITY_MIN_SENDS: Final = 20
RED_MIN_SIGNALS: Final = 5
PAUSE_HOURS: Final = (3, 6)  # first and second pause; the third strike disables


def quality_score(sends: int, negatives: int) -> str:
    """GREEN | YELLOW | RED | UNKNOWN from a template's sends and negative signals over the window."""
    if negatives >= RED_MIN_SIGNALS and negatives * 100 >= 5 * sends:
        return "RED"
    if sends < QUALITY_MIN_SENDS:
        return "UNKNOWN"
    if negatives > 0 and negatives * 100 >= 2 * sends:
        return "YELLOW"
    return "GREEN"


def pause_step(pause_count: int) -> tuple[str, int | None]:
    """What a template that turns RED gets, given how many times it was paused before: (status, hours)."""
    if pause_count < len(PAUSE_HOURS):
        return PAUSED, PAUSE_HOURS[pause_count]
    return DISABLED, None
