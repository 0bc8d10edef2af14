"""Message templates over the Cloud API: create -> PENDING -> decided later (exactly one webhook per decision),
list/get/edit/delete/unpause as Meta answers them, token scoping, the quality ladder, and send-time resolution."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import event

from parley import templates
from parley.config import Settings, TemplateSettings
from parley.graph import GraphError
from parley.templates import RenderedTemplate
from tests.conftest import LiveServer, running_server
from tests.integration.business_helpers import Biz, V, create_business, events

OAS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "business-messaging-api_v23.0.yaml"
REVIEW_DELAY_S = 30

ORDER_UPDATE: dict[str, Any] = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["8812"]}},
        {
            "type": "BODY",
            "text": "Hi {{1}}, your order of {{2}} ships on {{3}}. Thank you!",
            "example": {"body_text": [["Mark", "$10", "Monday"]]},
        },
        {"type": "FOOTER", "text": "Parley Shop"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop updates"},
                {"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}", "example": ["https://x/1"]},
            ],
        },
    ],
}


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    settings.templates = TemplateSettings(review_delay_s=REVIEW_DELAY_S)
    async with running_server(settings) as live:
        yield live


def template(name: str = "order_update", **overrides: Any) -> dict[str, Any]:
    body = copy.deepcopy(ORDER_UPDATE)
    body["name"] = name
    body.update(overrides)
    return body


def graph_error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "OAuthException" and "fbtrace_id" in error
    return dict(error)


async def create(server: LiveServer, biz: Biz, body: dict[str, Any]) -> str:
    response = await server.http.post(f"{V}/{biz.waba_id}/message_templates", headers=biz.headers, json=body)
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["status"] == "PENDING"
    return str(created["id"])


async def get(server: LiveServer, biz: Biz, template_id: str, fields: str | None = None) -> dict[str, Any]:
    params = {"fields": fields} if fields else {}
    response = await server.http.get(f"{V}/{template_id}", headers=biz.headers, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def decide(server: LiveServer, seconds: float = REVIEW_DELAY_S) -> None:
    """Let the review's delay pass on the injected clock and run a review pass (the loop may beat us to it)."""
    server.clock.advance(seconds=seconds)
    await server.container.templates.review_due_now()


async def template_events(server: LiveServer, biz: Biz) -> list[dict[str, Any]]:
    return [e for e in await events(server, biz, None) if "template" in e["field"]]


async def approved(server: LiveServer, biz: Biz, body: dict[str, Any]) -> str:
    template_id = await create(server, biz, body)
    await decide(server)
    assert (await get(server, biz, template_id))["status"] == "APPROVED"
    return template_id


@cache
def _oas() -> dict[str, Any] | None:
    return (
        dict(yaml.load(OAS.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))) if OAS.exists() else None
    )


def assert_matches_oas(path: str, method: str, value: Any) -> None:
    """Validate a response body against the schema of Meta's own OpenAPI description of that call."""
    jsonschema = pytest.importorskip("jsonschema")
    spec = _oas()
    if spec is None:
        return
    schema = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": spec["components"]}).validate(value)


# -- the review --------------------------------------------------------------------------------------------------


async def test_a_template_is_pending_first_and_approved_after_the_review_with_one_webhook(server: LiveServer) -> None:
    biz = await create_business(server)
    response = await server.http.post(f"{V}/{biz.waba_id}/message_templates", headers=biz.headers, json=template())
    assert response.status_code == 200, response.text
    created = response.json()
    assert created == {"id": created["id"], "status": "PENDING", "category": "UTILITY"}
    assert_matches_oas("/{Version}/{WABA-ID}/message_templates", "post", created)

    await server.container.templates.review_due_now()  # not due yet: the review takes its time
    assert (await get(server, biz, created["id"]))["status"] == "PENDING"
    assert await template_events(server, biz) == []

    await decide(server)
    await server.container.templates.review_due_now()  # a second pass decides nothing twice
    current = await get(server, biz, created["id"])
    assert current["status"] == "APPROVED" and current["category"] == "UTILITY"
    assert_matches_oas("/{Version}/{TEMPLATE_ID}", "get", current)

    [event] = await template_events(server, biz)
    assert event["field"] == "message_template_status_update"
    assert event["value"] == {
        "event": "APPROVED",
        "message_template_id": int(created["id"]),
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "message_template_category": "UTILITY",
        "reason": "NONE",
    }


async def test_the_review_loop_decides_by_itself(settings: Settings) -> None:
    settings.templates = TemplateSettings(review_delay_s=0.1, review_poll_s=0.05)
    async with running_server(settings) as server:
        biz = await create_business(server)
        template_id = await create(server, biz, template())
        for _ in range(100):
            if (await get(server, biz, template_id))["status"] != "PENDING":
                break
            await asyncio.sleep(0.05)
        assert (await get(server, biz, template_id))["status"] == "APPROVED"
        assert len(await template_events(server, biz)) == 1


async def test_a_rejection_says_why_in_the_template_and_the_webhook(server: LiveServer) -> None:
    biz = await create_business(server)
    body = template("dangling")
    body["components"][1] = {
        "type": "BODY",
        "text": "Your order is ready, {{1}}",
        "example": {"body_text": [["Mark"]]},
    }
    template_id = await create(server, biz, body)
    await decide(server)
    current = await get(server, biz, template_id, "name,status,rejected_reason,category")
    assert current == {
        "name": "dangling",
        "status": "REJECTED",
        "rejected_reason": "INVALID_FORMAT",
        "category": "UTILITY",
        "id": template_id,
    }
    [event] = await template_events(server, biz)
    value = event["value"]
    assert (value["event"], value["reason"]) == ("REJECTED", "INVALID_FORMAT")
    assert "cannot end with a variable" in value["rejection_info"]["reason"]


async def test_a_promotional_utility_template_is_approved_as_marketing(server: LiveServer) -> None:
    biz = await create_business(server)
    body = template("shipping_news")
    body["components"][1]["text"] = "Hi {{1}}, your order of {{2}} ships on {{3}}. Enjoy free shipping next time!"
    template_id = await create(server, biz, body)
    await decide(server)
    current = await get(server, biz, template_id, "status,category,previous_category")
    assert current == {"status": "APPROVED", "category": "MARKETING", "previous_category": "UTILITY", "id": template_id}
    status_event, category_event = await template_events(server, biz)
    assert status_event["field"] == "message_template_status_update"
    assert (status_event["value"]["event"], status_event["value"]["message_template_category"]) == (
        "APPROVED",
        "MARKETING",
    )
    assert category_event == {
        "field": "template_category_update",
        "value": {
            "message_template_id": int(template_id),
            "message_template_name": "shipping_news",
            "message_template_language": "en_US",
            "previous_category": "UTILITY",
            "new_category": "MARKETING",
        },
    }


async def test_every_oas_create_example_is_accepted(server: LiveServer) -> None:
    spec = _oas()
    if spec is None:
        pytest.skip("Meta's OpenAPI copy is not at hand")
    biz = await create_business(server)
    examples = spec["paths"]["/{Version}/{WABA-ID}/message_templates"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]
    for i, (title, example) in enumerate(examples.items()):
        body = copy.deepcopy(example["value"])
        body["name"] = f"example_{i}"
        for component in body["components"]:
            for button in component.get("buttons", []):
                if button.get("flow_id") == "{{Flow-ID}}":
                    button["flow_id"] = "1234567890"
                if button.get("flow_name") == "{{Flow-Name}}":
                    button["flow_name"] = "booking"
        response = await server.http.post(f"{V}/{biz.waba_id}/message_templates", headers=biz.headers, json=body)
        assert response.status_code == 200, (title, response.text)
    await decide(server)
    listed = (
        await server.http.get(f"{V}/{biz.waba_id}/message_templates", headers=biz.headers, params={"limit": 50})
    ).json()
    assert {t["status"] for t in listed["data"]} == {"APPROVED"}, [
        (t["name"], t["status"]) for t in listed["data"] if t["status"] != "APPROVED"
    ]


# -- refusals at once ---------------------------------------------------------------------------------------------


async def test_malformed_requests_never_become_templates(server: LiveServer) -> None:
    biz = await create_business(server)
    url = f"{V}/{biz.waba_id}/message_templates"
    for bad in (
        template("Order Update"),
        template(language="xx_XX"),
        template(category="NEWS"),
        template(components=[{"type": "BODY", "text": 5}]),
        {"language": "en_US", "category": "UTILITY", "components": []},
    ):
        error = graph_error(await server.http.post(url, headers=biz.headers, json=bad))
        assert error["code"] == 100 and error["message"] == "(#100) Invalid parameter"
    error = graph_error(await server.http.post(url, headers=biz.headers, content=b"{not json"))
    assert error["code"] == 100
    listed = (await server.http.get(url, headers=biz.headers)).json()
    assert listed["data"] == []


async def test_name_and_language_are_unique_but_translations_are_welcome(server: LiveServer) -> None:
    biz = await create_business(server)
    url = f"{V}/{biz.waba_id}/message_templates"
    await create(server, biz, template())
    error = graph_error(await server.http.post(url, headers=biz.headers, json=template()))
    assert (error["code"], error["error_subcode"]) == (100, 2388024)
    await create(server, biz, template(language="fr"))
    other = await create_business(server, "Other")
    await create(server, other, template())  # names are per business account


async def test_limits_on_names_and_creations_per_hour(settings: Settings) -> None:
    settings.templates = TemplateSettings(review_delay_s=REVIEW_DELAY_S, max_names_per_waba=2, max_creations_per_hour=4)
    async with running_server(settings) as server:
        biz = await create_business(server)
        url = f"{V}/{biz.waba_id}/message_templates"
        await create(server, biz, template("one"))
        await create(server, biz, template("two"))
        error = graph_error(await server.http.post(url, headers=biz.headers, json=template("three")))
        assert "limit of 2" in error["error_data"]["details"]
        await create(server, biz, template("one", language="de"))  # a translation is not a new name
        await create(server, biz, template("two", language="de"))
        error = graph_error(await server.http.post(url, headers=biz.headers, json=template("one", language="fr")))
        assert "per hour" in error["error_data"]["details"]
        server.clock.advance(minutes=61)
        await create(server, biz, template("one", language="fr"))


# -- list, get, paging, fields ------------------------------------------------------------------------------------


async def test_listing_pages_filters_and_selects_fields(server: LiveServer) -> None:
    biz = await create_business(server)
    ids = [await create(server, biz, template(f"t_{i}")) for i in range(5)]
    await create(server, biz, template("auth_code", category="AUTHENTICATION"))  # rejected: not the OTP format
    await decide(server)
    url = f"{V}/{biz.waba_id}/message_templates"

    first = await server.http.get(url, headers=biz.headers, params={"limit": 2, "status": "APPROVED"})
    assert first.status_code == 200, first.text
    page = first.json()
    assert_matches_oas("/{Version}/{WABA-ID}/message_templates", "get", page)
    assert [t["id"] for t in page["data"]] == [ids[4], ids[3]]  # newest first
    item = page["data"][0]
    assert set(item) == {"name", "parameter_format", "components", "language", "status", "category", "id"}
    assert item["components"][1]["example"] == {"body_text": [["Mark", "$10", "Monday"]]}
    assert page["paging"]["cursors"] == {"before": ids[4], "after": ids[3]}

    second = (await server.http.get(page["paging"]["next"], headers=biz.headers)).json()
    assert [t["id"] for t in second["data"]] == [ids[2], ids[1]]
    assert "previous" in second["paging"]
    third = (await server.http.get(second["paging"]["next"], headers=biz.headers)).json()
    assert [t["id"] for t in third["data"]] == [ids[0]]
    assert "next" not in third["paging"]
    back = (await server.http.get(third["paging"]["previous"], headers=biz.headers)).json()
    assert [t["id"] for t in back["data"]] == [ids[2], ids[1]]

    rejected = (await server.http.get(url, headers=biz.headers, params={"status": "REJECTED"})).json()["data"]
    assert [t["name"] for t in rejected] == ["auth_code"]
    named = (
        await server.http.get(
            url,
            headers=biz.headers,
            params={"name": "t_3", "fields": "name,quality_score,components{type}", "summary": "total_count"},
        )
    ).json()
    [only] = named["data"]
    assert only["name"] == "t_3" and only["quality_score"]["score"] == "UNKNOWN"
    assert only["components"] == [{"type": "HEADER"}, {"type": "BODY"}, {"type": "FOOTER"}, {"type": "BUTTONS"}]
    assert named["summary"] == {
        "total_count": 1,
        "message_template_count": 6,
        "message_template_limit": 250,
        "are_translations_complete": True,
    }
    error = graph_error(await server.http.get(url, headers=biz.headers, params={"fields": "name,colour"}))
    assert "colour" in error["error_data"]["details"]


async def test_pywa_reads_templates_as_it_expects(server: LiveServer) -> None:
    """The fields pywa asks for, and the parse it does of the answer (TemplateDetails / TemplatesResult)."""
    pywa_templates = pytest.importorskip("pywa.types.templates")
    biz = await create_business(server)
    template_id = await approved(server, biz, template())
    fields = ",".join(pywa_templates.TemplateDetails._api_fields())
    details = await get(server, biz, template_id, fields)
    parsed = pywa_templates.TemplateDetails.from_dict(details, client=None)
    assert parsed.status == pywa_templates.TemplateStatus.APPROVED
    assert parsed.parameter_format == pywa_templates.ParamFormat.POSITIONAL
    assert [type(c).__name__ for c in parsed.components] == ["HeaderText", "BodyText", "FooterText", "Buttons"]
    listed = (
        await server.http.get(
            f"{V}/{biz.waba_id}/message_templates",
            headers=biz.headers,
            params={
                "fields": fields,
                "summary": "total_count,message_template_count,message_template_limit,are_translations_complete",
            },
        )
    ).json()
    result = pywa_templates.TemplatesResult(wa=None, response=listed)  # type: ignore[arg-type]
    assert result.message_template_limit == 250 and len(list(result)) == 1


# -- scoping ------------------------------------------------------------------------------------------------------


async def test_a_token_reaches_only_its_own_business_templates(server: LiveServer) -> None:
    mine = await create_business(server, "Mine")
    theirs = await create_business(server, "Theirs")
    template_id = await create(server, mine, template())

    for response in (
        await server.http.get(f"{V}/{mine.waba_id}/message_templates", headers=theirs.headers),
        await server.http.post(f"{V}/{mine.waba_id}/message_templates", headers=theirs.headers, json=template("x")),
        await server.http.delete(
            f"{V}/{mine.waba_id}/message_templates", headers=theirs.headers, params={"name": "order_update"}
        ),
        await server.http.get(f"{V}/{template_id}", headers=theirs.headers),
        await server.http.post(f"{V}/{template_id}", headers=theirs.headers, json={"components": []}),
        await server.http.post(f"{V}/{template_id}/unpause", headers=theirs.headers),
    ):
        error = graph_error(response)
        assert (error["code"], error["error_subcode"]) == (100, 33), error
    unauthenticated = await server.http.get(f"{V}/{mine.waba_id}/message_templates")
    assert graph_error(unauthenticated, 401)["code"] == 190
    assert (await get(server, mine, template_id))["status"] == "PENDING"  # untouched


# -- edit, delete, unpause ----------------------------------------------------------------------------------------


async def test_editing_follows_meta_rules_and_goes_back_to_review(server: LiveServer) -> None:
    biz = await create_business(server)
    template_id = await create(server, biz, template())
    url = f"{V}/{template_id}"
    error = graph_error(
        await server.http.post(url, headers=biz.headers, json={"components": ORDER_UPDATE["components"]})
    )
    assert "APPROVED, REJECTED or PAUSED" in error["error_data"]["details"]
    await decide(server)

    error = graph_error(await server.http.post(url, headers=biz.headers, json={"category": "MARKETING"}))
    assert "category of an approved template" in error["error_data"]["details"]

    components = copy.deepcopy(ORDER_UPDATE["components"])
    components[2]["text"] = "Parley Shop, Lisbon"
    response = await server.http.post(url, headers=biz.headers, json={"components": components})
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "id": template_id, "name": "order_update", "category": "UTILITY"}
    assert_matches_oas("/{Version}/{TEMPLATE_ID}", "post", response.json())
    assert (await get(server, biz, template_id))["status"] == "PENDING"
    await decide(server)
    current = await get(server, biz, template_id)
    assert current["status"] == "APPROVED" and current["components"][2]["text"] == "Parley Shop, Lisbon"
    fields = [e["field"] for e in await template_events(server, biz)]
    assert fields == [
        "message_template_status_update",
        "message_template_components_update",
        "message_template_status_update",
    ]

    error = graph_error(await server.http.post(url, headers=biz.headers, json={"components": components}))
    assert "once in 24 hours" in error["error_data"]["details"]
    server.clock.advance(hours=24)
    assert (await server.http.post(url, headers=biz.headers, json={"components": components})).status_code == 200


async def test_a_rejected_template_can_change_category_and_be_approved(server: LiveServer) -> None:
    biz = await create_business(server)
    body = template("login")
    body["components"][1]["text"] = "Hi {{1}}, your verification code is {{2}}, valid {{3}}. Do not share it."
    template_id = await create(server, biz, body)
    await decide(server)
    assert (await get(server, biz, template_id, "status,rejected_reason"))["rejected_reason"] == "INCORRECT_CATEGORY"
    auth_components = [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 5},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]},
    ]
    response = await server.http.post(
        f"{V}/{template_id}", headers=biz.headers, json={"category": "AUTHENTICATION", "components": auth_components}
    )
    assert response.status_code == 200, response.text
    await decide(server)
    assert (await get(server, biz, template_id, "status,category")) == {
        "status": "APPROVED",
        "category": "AUTHENTICATION",
        "id": template_id,
    }


async def test_delete_by_name_removes_every_language_and_by_hsm_id_one(server: LiveServer) -> None:
    biz = await create_business(server)
    url = f"{V}/{biz.waba_id}/message_templates"
    english = await create(server, biz, template())
    await create(server, biz, template(language="fr"))
    await create(server, biz, template("other"))
    german = await create(server, biz, template("other", language="de"))

    response = await server.http.delete(url, headers=biz.headers, params={"name": "other", "hsm_id": german})
    assert response.status_code == 200 and response.json() == {"success": True}
    assert_matches_oas("/{Version}/{WABA-ID}/message_templates", "delete", response.json())
    response = await server.http.delete(url, headers=biz.headers, params={"name": "order_update"})
    assert response.status_code == 200, response.text
    names = [(t["name"], t["language"]) for t in (await server.http.get(url, headers=biz.headers)).json()["data"]]
    assert names == [("other", "en_US")]
    gone = graph_error(await server.http.get(f"{V}/{english}", headers=biz.headers))
    assert (gone["code"], gone["error_subcode"]) == (100, 33)
    error = graph_error(await server.http.delete(url, headers=biz.headers, params={"name": "order_update"}))
    assert "no message template" in error["error_data"]["details"]
    error = graph_error(await server.http.delete(url, headers=biz.headers, params={"name": "other", "hsm_id": german}))
    assert error["code"] == 100


# -- quality and the pause ladder ---------------------------------------------------------------------------------


async def _record(server: LiveServer, template_id: str, *, sends: int = 0, negatives: int = 0) -> None:
    def unit(conn: Any) -> None:
        now = server.clock.now_ms()
        for _ in range(sends):
            templates.record_sent(conn, int(template_id), now, server.container.ids)
        for _ in range(negatives):
            templates.record_negative_feedback(conn, int(template_id), now, server.container.ids)

    await server.container.db.write("tests.record", unit)


async def _resolve(server: LiveServer, biz: Biz, components: list[dict[str, Any]], name: str = "order_update") -> Any:
    return await server.container.db.read(
        lambda conn: templates.resolve_for_send(conn, int(biz.waba_id), name, "en_US", components)
    )


async def _resolve_error(
    server: LiveServer, biz: Biz, components: list[dict[str, Any]], name: str = "order_update"
) -> GraphError:
    with pytest.raises(GraphError) as caught:
        await _resolve(server, biz, components, name)
    return caught.value


SEND: list[dict[str, Any]] = [
    {"type": "header", "parameters": [{"type": "text", "text": "8812"}]},
    {
        "type": "body",
        "parameters": [
            {"type": "text", "text": "Ana"},
            {"type": "currency", "currency": {"fallback_value": "€12.50", "code": "EUR", "amount_1000": 12500}},
            {"type": "date_time", "date_time": {"fallback_value": "Friday"}},
        ],
    },
    {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "8812"}]},
]


async def test_quality_ratings_and_the_pause_ladder(server: LiveServer) -> None:
    biz = await create_business(server)
    template_id = await approved(server, biz, template())
    assert isinstance(await _resolve(server, biz, SEND), RenderedTemplate)

    await _record(server, template_id, sends=100)
    await _record(server, template_id, negatives=2)
    await _record(server, template_id, negatives=3)
    assert (await get(server, biz, template_id, "status,quality_score"))["status"] == "PAUSED"
    assert (await _resolve_error(server, biz, SEND)).code == 132015

    quality = [
        (e["value"]["previous_quality_score"], e["value"]["new_quality_score"])
        for e in await template_events(server, biz)
        if e["field"] == "message_template_quality_update"
    ]
    assert quality == [("UNKNOWN", "GREEN"), ("GREEN", "YELLOW"), ("YELLOW", "RED")]

    def ladder(all_events: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
        return [
            (e["value"]["event"], (e["value"].get("other_info") or {}).get("title"))
            for e in all_events
            if e["field"] == "message_template_status_update"
        ]

    assert ladder(await template_events(server, biz)) == [("APPROVED", None), ("PAUSED", "FIRST_PAUSE")]

    # The first pause lasts 3 hours, then the template is approved again on its own.
    server.clock.advance(hours=2, minutes=59)
    await server.container.templates.review_due_now()
    assert (await get(server, biz, template_id))["status"] == "PAUSED"
    server.clock.advance(minutes=2)
    await server.container.templates.review_due_now()
    assert (await get(server, biz, template_id))["status"] == "APPROVED"

    # Still RED: the next complaint pauses it for 6 hours, the one after that disables it.
    await _record(server, template_id, negatives=1)
    assert (await get(server, biz, template_id))["status"] == "PAUSED"
    server.clock.advance(hours=6, minutes=1)
    await server.container.templates.review_due_now()
    await _record(server, template_id, negatives=1)
    assert (await get(server, biz, template_id))["status"] == "DISABLED"
    disabled_at_s = server.clock.now_ms() // 1000
    assert (await _resolve_error(server, biz, SEND)).code == 132016
    server.clock.advance(hours=24)
    await server.container.templates.review_due_now()
    assert (await get(server, biz, template_id))["status"] == "DISABLED"  # disabling is for good

    statuses = ladder(await template_events(server, biz))
    assert statuses == [
        ("APPROVED", None),
        ("PAUSED", "FIRST_PAUSE"),
        ("APPROVED", "UNPAUSE"),
        ("PAUSED", "SECOND_PAUSE"),
        ("APPROVED", "UNPAUSE"),
        ("DISABLED", None),
    ]
    [disabled] = [e for e in await template_events(server, biz) if e["value"].get("event") == "DISABLED"]
    assert abs(disabled["value"]["disable_info"]["disable_date"] - disabled_at_s) <= 2


async def test_unpause_waits_five_minutes_after_a_pause(server: LiveServer) -> None:
    biz = await create_business(server)
    template_id = await approved(server, biz, template())
    await _record(server, template_id, sends=20, negatives=5)
    assert (await get(server, biz, template_id))["status"] == "PAUSED"
    url = f"{V}/{template_id}/unpause"
    early = await server.http.post(url, headers=biz.headers)
    assert early.status_code == 200 and early.json()["success"] is False and "5 minutes" in early.json()["reason"]
    server.clock.advance(minutes=5)
    response = await server.http.post(url, headers=biz.headers)
    assert response.json() == {"success": True}
    assert (await get(server, biz, template_id))["status"] == "APPROVED"
    again = (await server.http.post(url, headers=biz.headers)).json()
    assert again["success"] is False and "not paused" in again["reason"]


# -- send-time resolution -----------------------------------------------------------------------------------------


async def test_resolve_for_send_renders_approved_templates_only(server: LiveServer) -> None:
    biz = await create_business(server)
    assert (await _resolve_error(server, biz, SEND)).code == 132001  # no such template
    template_id = await create(server, biz, template())
    pending = await _resolve_error(server, biz, SEND)
    assert pending.code == 132001 and "not approved" in pending.details and pending.http_status == 404
    await decide(server)

    rendered = await _resolve(server, biz, SEND)
    assert rendered.template_id == int(template_id)
    assert (rendered.name, rendered.language, rendered.category) == ("order_update", "en_US", "UTILITY")
    assert rendered.header == {"format": "TEXT", "text": "Order 8812"}
    assert rendered.body == "Hi Ana, your order of €12.50 ships on Friday. Thank you!"
    assert rendered.footer == "Parley Shop"
    assert rendered.buttons == [
        {"type": "QUICK_REPLY", "text": "Stop updates", "payload": "Stop updates"},
        {"type": "URL", "text": "Track", "url": "https://shop.example/t/8812"},
    ]
    too_few = [SEND[0], {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}, SEND[2]]
    assert (await _resolve_error(server, biz, too_few)).code == 132000
    other = await create_business(server, "Other")
    assert (await _resolve_error(server, other, SEND)).code == 132001  # another business's template


async def test_resolve_for_send_with_named_parameters(server: LiveServer) -> None:
    biz = await create_business(server)
    body = {
        "name": "welcome",
        "language": "en_US",
        "category": "MARKETING",
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "BODY",
                "text": "Welcome {{first_name}}! Your table for {{guests}} is booked, see you soon.",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "first_name", "example": "Mark"},
                        {"param_name": "guests", "example": "2"},
                    ]
                },
            }
        ],
    }
    await approved(server, biz, body)
    components = [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "parameter_name": "guests", "text": "4"},
                {"type": "text", "parameter_name": "first_name", "text": "Ana"},
            ],
        }
    ]
    rendered = await _resolve(server, biz, components, "welcome")
    assert rendered.body == "Welcome Ana! Your table for 4 is booked, see you soon."
    assert rendered.parameter_format == "NAMED"
    positional = [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "4"}]}]
    assert (await _resolve_error(server, biz, positional, "welcome")).code == 132012


async def test_the_send_path_lookup_is_one_index_probe(server: LiveServer) -> None:
    biz = await create_business(server)
    await approved(server, biz, template())
    for i in range(30):  # history the lookup must not scan
        await create(server, biz, template(f"filler_{i}"))

    def unit(conn: Any) -> tuple[list[tuple[str, Any]], list[str]]:
        statements: list[tuple[str, Any]] = []

        def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
            statements.append((statement, parameters))

        event.listen(conn, "before_cursor_execute", capture)
        try:
            templates.resolve_for_send(conn, int(biz.waba_id), "order_update", "en_US", SEND)
        finally:
            event.remove(conn, "before_cursor_execute", capture)
        plan: list[str] = []
        if conn.dialect.name == "sqlite":
            statement, parameters = statements[0]
            plan = [str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
        return statements, plan

    statements, plan = await server.container.db.read(unit)
    assert len(statements) == 1
    if plan:
        assert any("uq_message_templates_waba_name_language" in step for step in plan), plan
