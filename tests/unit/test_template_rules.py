"""The template review rules: what is refused at once, what is approved, rejected or re-categorised."""

from __future__ import annotations

import copy
import string
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from parley.graph import GraphError
from parley.templates import rules
from parley.templates.rules import Submission, parse_edit, parse_submission, review


def body(text: str, *examples: str) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "BODY", "text": text}
    if examples:
        component["example"] = {"body_text": [list(examples)]}
    return component


def submission(*components: dict[str, Any], category: str = "MARKETING", fmt: str = "POSITIONAL") -> Submission:
    return Submission("order_update", "en_US", category, fmt, list(components))


def rejected(decision: rules.Decision, reason: str) -> bool:
    return decision.status == "REJECTED" and decision.reason == reason


FALL_SALE: dict[str, Any] = {
    "name": "fall_sale",
    "language": "en_US",
    "category": "MARKETING",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Fall Sale"},
        {
            "type": "BODY",
            "text": "Hi {{1}}, use code {{2}} for an extra 25% off today.",
            "example": {"body_text": [["Mark", "FALL25"]]},
        },
        {"type": "FOOTER", "text": "Tap Stop to opt out"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop promotions"},
                {"type": "URL", "text": "Shop", "url": "https://x.com/{{1}}", "example": ["https://x.com/fall"]},
            ],
        },
    ],
}

AUTH: dict[str, Any] = {
    "name": "login_code",
    "language": "en_US",
    "category": "AUTHENTICATION",
    "components": [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy Code"}]},
    ],
}


# -- stage 1: refused synchronously ------------------------------------------------------------------------------


def test_a_well_formed_request_parses_and_normalises_types() -> None:
    raw = copy.deepcopy(FALL_SALE)
    raw["components"][1]["type"] = "body"
    raw["category"] = "marketing"
    parsed = parse_submission(raw)
    assert parsed.category == "MARKETING"
    assert parsed.parameter_format == "POSITIONAL"
    assert [c["type"] for c in parsed.components] == ["HEADER", "BODY", "FOOTER", "BUTTONS"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"name": None}, "name is required"),
        ({"name": "Fall Sale"}, "lowercase"),
        ({"name": "x" * 513}, "lowercase"),
        ({"name": 42}, "name is required"),
        ({"language": "english"}, "not a supported template language"),
        ({"language": None}, "language is required"),
        ({"category": "PROMOTION"}, "category must be"),
        ({"parameter_format": "MIXED"}, "parameter_format"),
        ({"components": []}, "components is required"),
        ({"components": "BODY"}, "components is required"),
        ({"components": [{"type": "SIDEBAR", "text": "x"}]}, "type must be one of"),
        ({"components": [{"type": "BODY", "text": 12}]}, "text must be a string"),
        ({"components": [{"type": "BUTTONS", "buttons": {"type": "URL"}}]}, "buttons must be a list"),
        ({"components": [{"type": "BODY", "text": "x", "example": ["a"]}]}, "example must be an object"),
        ({"message_send_ttl_seconds": "soon"}, "message_send_ttl_seconds"),
    ],
)
def test_malformed_requests_are_refused_with_code_100(change: dict[str, Any], fragment: str) -> None:
    raw = {**copy.deepcopy(FALL_SALE), **change}
    with pytest.raises(GraphError) as caught:
        parse_submission(raw)
    assert caught.value.code == 100
    assert fragment in caught.value.details


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(GraphError):
        parse_submission(["fall_sale"])


@given(st.text(alphabet=string.ascii_lowercase + string.digits + "_", min_size=1, max_size=512))
def test_every_lowercase_snake_name_is_accepted(name: str) -> None:
    assert rules.check_name(name) == name


@given(st.text(min_size=1, max_size=40))
def test_names_outside_the_alphabet_are_refused(name: str) -> None:
    assume(any(ch not in string.ascii_lowercase + string.digits + "_" for ch in name))
    with pytest.raises(GraphError):
        rules.check_name(name)


def test_an_edit_needs_something_to_change() -> None:
    with pytest.raises(GraphError, match="nothing to edit"):
        parse_edit({"name": "fall_sale"})
    edit = parse_edit({"components": FALL_SALE["components"], "category": "utility"})
    assert edit.category == "UTILITY"
    assert edit.components is not None


# -- stage 2: the review ------------------------------------------------------------------------------------------


def test_a_good_marketing_template_is_approved() -> None:
    decision = review(parse_submission(FALL_SALE))
    assert (decision.status, decision.category, decision.reason) == ("APPROVED", "MARKETING", "NONE")


def test_the_oas_examples_are_approved() -> None:
    tuscan = {
        "name": "limited_time_offer_tuscan_getaway_2023",
        "language": "en_US",
        "category": "MARKETING",
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2UvanBn:ARYyty"]}},
            {
                "type": "BODY",
                "text": "Hi {{1}}! For a limited time only you can get our {{2}} for as low as {{3}}. "
                "Tap the Offer Details button for more information.",
                "example": {"body_text": [["Mark", "Tuscan Getaway package", "800"]]},
            },
            {"type": "FOOTER", "text": "Offer valid until May 31, 2023"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "16467043595"},
                    {
                        "type": "URL",
                        "text": "Shop Now",
                        "url": "https://damp-sea-63235.herokuapp.com/shop?promo={{1}}",
                        "example": ["summer2023"],
                    },
                ],
            },
        ],
    }
    location = {
        "name": "order_delivery_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "LOCATION"},
            {
                "type": "BODY",
                "text": "Good news {{1}}! Your order #{{2}} is on its way to the location above. Thank you!",
                "example": {"body_text": [["Mark", "566701"]]},
            },
            {"type": "FOOTER", "text": "To stop receiving delivery updates, tap the button below."},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop Delivery Updates"}]},
        ],
    }
    for raw in (tuscan, location, AUTH):
        decision = review(parse_submission(raw))
        assert decision.status == "APPROVED", (raw["name"], decision.message)


def test_named_parameters_need_named_samples() -> None:
    named_body = {
        "type": "BODY",
        "text": "Hello {{first_name}}, your order {{order_id}} has shipped.",
        "example": {
            "body_text_named_params": [
                {"param_name": "first_name", "example": "Mark"},
                {"param_name": "order_id", "example": "8812"},
            ]
        },
    }
    assert review(submission(named_body, category="UTILITY", fmt="NAMED")).status == "APPROVED"
    missing = copy.deepcopy(named_body)
    missing["example"]["body_text_named_params"].pop()
    decision = review(submission(missing, category="UTILITY", fmt="NAMED"))
    assert rejected(decision, "INVALID_FORMAT") and "order_id" in decision.message


@pytest.mark.parametrize(
    ("components", "fragment"),
    [
        ([{"type": "FOOTER", "text": "only a footer"}], "exactly one BODY"),
        ([body("One."), body("Two.")], "only one BODY"),
        ([body("x" * 1025)], "at most 1024"),
        ([body("Hi {{1}} and {{3}} are here today.", "a", "b")], "without gaps"),
        ([body("Hi {{1}}, your order {{2}} is ready now.", "Mark")], "exactly 2"),
        ([body("Hi {{1}}, your order is ready for pickup.")], "example.body_text"),
        ([body("{{1}}, your order is ready for pickup.", "Mark")], "cannot start"),
        ([body("Your order is ready for pickup, {{1}}", "Mark")], "cannot end"),
        ([body("Hi {{1}} {{2}} {{3}} ok.", "a", "b", "c")], "too many variables"),
        ([body("Hi {{name}}, your order is ready now.")], "POSITIONAL"),
        ([body("Hi {{ 1 }}, your order is ready now.")], "malformed"),
        ([body("Hi {{1}, your order is ready now.")], "unmatched"),
        ([{"type": "HEADER", "format": "TEXT", "text": "x" * 61}, body("Hello there.")], "at most 60"),
        (
            [
                {"type": "HEADER", "format": "TEXT", "text": "{{1}} and {{2}}", "example": {"header_text": ["a", "b"]}},
                body("Hello there."),
            ],
            "at most one variable",
        ),
        ([{"type": "HEADER", "format": "TEXT", "text": "Hi {{1}}"}, body("Hello there.")], "header_text"),
        ([{"type": "HEADER", "format": "IMAGE"}, body("Hello there.")], "header_handle"),
        ([{"type": "HEADER", "format": "GIF"}, body("Hello there.")], "format must be"),
        ([body("Hello there."), {"type": "FOOTER", "text": "x" * 61}], "at most 60"),
        ([body("Hello there."), {"type": "FOOTER", "text": "Bye {{1}}"}], "cannot have variables"),
        ([body("Hello there."), {"type": "BUTTONS", "buttons": []}], "at least one button"),
        (
            [body("Hello there."), {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "x"}] * 11}],
            "at most 10",
        ),
        (
            [body("Hello there."), {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "x" * 26}]}],
            "at most 25",
        ),
        (
            [body("Hello there."), {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Go", "url": "ftp://x"}]}],
            "http(s) url",
        ),
        (
            [
                body("Hello there."),
                {
                    "type": "BUTTONS",
                    "buttons": [{"type": "URL", "text": "Go", "url": "https://x.com/{{1}}/track", "example": ["a"]}],
                },
            ],
            "very end",
        ),
        (
            [
                body("Hello there."),
                {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Go", "url": "https://x.com/{{1}}"}]},
            ],
            "sample url",
        ),
        (
            [
                body("Hello there."),
                {"type": "BUTTONS", "buttons": [{"type": "PHONE_NUMBER", "text": "Call", "phone_number": "call me"}]},
            ],
            "phone_number",
        ),
        (
            [body("Hello there."), {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "X" * 16}]}],
            "sample code",
        ),
        ([body("Hello there."), {"type": "BUTTONS", "buttons": [{"type": "FLOW", "text": "Book"}]}], "flow_id"),
        (
            [body("Hello there."), {"type": "BUTTONS", "buttons": [{"type": "VOICE_CALL", "text": "Call"}]}],
            "not supported",
        ),
        ([body("Hello there."), {"type": "CAROUSEL", "cards": []}], "not supported"),
    ],
)
def test_format_rules_reject_as_invalid_format(components: list[dict[str, Any]], fragment: str) -> None:
    decision = review(submission(*components))
    assert rejected(decision, "INVALID_FORMAT"), decision
    assert fragment in decision.message


def test_trailing_punctuation_after_the_last_variable_is_fine() -> None:
    assert review(submission(body("Your parcel number is {{1}}.", "4411"))).status == "APPROVED"


def test_abusive_wording_is_rejected_whatever_the_category() -> None:
    decision = review(submission(body("Pay your bill now, you idiot."), category="UTILITY"))
    assert rejected(decision, "ABUSIVE_CONTENT") and "idiot" in decision.message


def test_promotional_wording_in_a_utility_template_is_approved_as_marketing() -> None:
    decision = review(submission(body("Your order shipped. Enjoy 20% off your next one!"), category="UTILITY"))
    assert (decision.status, decision.category, decision.reason) == ("APPROVED", "MARKETING", "NONE")
    assert "% off" in decision.message
    plain = review(submission(body("Your order 1234 shipped today."), category="UTILITY"))
    assert (plain.status, plain.category) == ("APPROVED", "UTILITY")


@pytest.mark.parametrize("wording", ["Big sale today only.", "Use this coupon now.", "Free shipping this week."])
def test_each_promotional_word_recategorises(wording: str) -> None:
    assert review(submission(body(wording), category="UTILITY")).category == "MARKETING"


def test_a_code_sent_in_a_utility_template_belongs_to_authentication() -> None:
    decision = review(submission(body("Your verification code is {{1}} for today.", "1234"), category="UTILITY"))
    assert rejected(decision, "INCORRECT_CATEGORY")


def test_an_otp_button_outside_authentication_is_a_tag_mismatch() -> None:
    buttons = {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]}
    assert rejected(review(submission(body("Hello there."), buttons)), "TAG_CONTENT_MISMATCH")


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda c: c[0].update(text="Your code is {{1}}"), "fixed text"),
        (lambda c: c.insert(0, {"type": "HEADER", "format": "TEXT", "text": "Code"}), "only BODY, FOOTER"),
        (lambda c: c[1].update(code_expiration_minutes=91), "1 to 90"),
        (lambda c: c[1].update(text="Expires soon"), "only code_expiration_minutes"),
        (lambda c: c[2]["buttons"].append({"type": "OTP", "otp_type": "COPY_CODE"}), "exactly one OTP"),
        (lambda c: c[2].update(buttons=[{"type": "QUICK_REPLY", "text": "Code"}]), "exactly one OTP"),
        (lambda c: c[2]["buttons"][0].update(otp_type="TWO_TAP"), "otp_type"),
        (lambda c: c[2]["buttons"][0].update(otp_type="ONE_TAP"), "supported_apps"),
        (
            lambda c: c[2]["buttons"][0].update(
                otp_type="ZERO_TAP", supported_apps=[{"package_name": "com.x", "signature_hash": "K8a%2FAINcGX7x"}]
            ),
            "11-character",
        ),
        (
            lambda c: c[2]["buttons"][0].update(
                otp_type="ZERO_TAP", supported_apps=[{"package_name": "com.x", "signature_hash": "K8a2FAINcGX"}]
            ),
            "zero_tap_terms_accepted",
        ),
    ],
)
def test_authentication_templates_must_follow_the_fixed_otp_format(mutate: Any, fragment: str) -> None:
    raw = copy.deepcopy(AUTH)
    mutate(raw["components"])
    decision = review(parse_submission(raw))
    assert rejected(decision, "INVALID_FORMAT"), decision
    assert fragment in decision.message


def test_one_tap_with_a_named_app_is_approved() -> None:
    raw = copy.deepcopy(AUTH)
    raw["components"][2]["buttons"][0].update(
        otp_type="ONE_TAP",
        autofill_text="Autofill",
        package_name="com.example.luckyshrub",
        signature_hash="K8a2FAINcGX",
    )
    assert review(parse_submission(raw)).status == "APPROVED"


# -- variables, as properties -----------------------------------------------------------------------------------


@given(st.integers(min_value=1, max_value=8), st.randoms())
def test_positional_variables_numbered_without_gaps_pass_in_any_order(count: int, rnd: Any) -> None:
    numbers = list(range(1, count + 1))
    rnd.shuffle(numbers)
    text = "Dear customer " + " then ".join(f"{{{{{n}}}}}" for n in numbers) + " end."
    assert rules.check_variables(text, "POSITIONAL", "the body") is None


@given(st.sets(st.integers(min_value=1, max_value=12), min_size=1, max_size=6))
def test_a_gap_in_the_numbering_is_always_found(numbers: set[int]) -> None:
    text = " x ".join(f"{{{{{n}}}}}" for n in sorted(numbers))
    problem = rules.check_variables(text, "POSITIONAL", "the body")
    assert (problem is None) == (numbers == set(range(1, max(numbers) + 1)))


@given(st.integers(min_value=1, max_value=10), st.integers(min_value=0, max_value=40))
def test_the_density_rule_is_one_variable_per_three_words(variables: int, words: int) -> None:
    text = "Hello " + " ".join(["word"] * words) + " " + " and ".join(f"{{{{{i}}}}}" for i in range(1, variables + 1))
    total = 1 + words + (variables - 1) + variables  # "Hello", the words, the "and"s, the variables
    assert (rules.check_variable_density(text) is None) == (variables * 3 <= total)


# -- quality ------------------------------------------------------------------------------------------------------


def test_quality_thresholds() -> None:
    assert rules.quality_score(0, 0) == "UNKNOWN"
    assert rules.quality_score(19, 0) == "UNKNOWN"
    assert rules.quality_score(20, 0) == "GREEN"
    assert rules.quality_score(100, 1) == "GREEN"
    assert rules.quality_score(100, 2) == "YELLOW"
    assert rules.quality_score(100, 4) == "YELLOW"
    assert rules.quality_score(100, 5) == "RED"
    assert rules.quality_score(60, 4) == "YELLOW"  # 6.7 % but fewer than 5 signals
    assert rules.quality_score(10, 5) == "RED"  # few sends, many complaints


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=500))
def test_more_complaints_never_improve_quality(sends: int, negatives: int) -> None:
    order = {"GREEN": 0, "UNKNOWN": 0, "YELLOW": 1, "RED": 2}
    before, after = rules.quality_score(sends, negatives), rules.quality_score(sends, negatives + 1)
    if before != "UNKNOWN" and after != "UNKNOWN":
        assert order[after] >= order[before]
    if before == "RED":
        assert after == "RED"


def test_the_pause_ladder() -> None:
    assert rules.pause_step(0) == ("PAUSED", 3)
    assert rules.pause_step(1) == ("PAUSED", 6)
    assert rules.pause_step(2) == ("DISABLED", None)
