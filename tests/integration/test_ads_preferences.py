"""People's ad preferences over the client API: opt-in only, withdrawing consent forgets the topics, unknown topics
are refused, and the ad server reads the same interests under the person's viewer id."""

from __future__ import annotations

from tests.conftest import LiveServer


async def test_a_person_opts_in_chooses_topics_and_withdraws(server: LiveServer) -> None:
    person = await server.user("Ana")
    c = server.container
    viewer = c.ad_viewers.of_person(int(person.user_id))
    first = await server.http.get("/client/v1/ads/preferences", headers=person.headers)
    assert first.status_code == 200
    body = first.json()
    assert body["consented"] is False and body["interests"] == []
    assert {"name": "fashion", "label": "Fashion and clothing"} in body["segments"]
    assert await c.ad_preferences.interests_of(viewer) == frozenset()

    chosen = await server.http.put(
        "/client/v1/ads/preferences", headers=person.headers, json={"consented": True, "interests": ["travel", "food"]}
    )
    assert chosen.status_code == 200 and chosen.json()["interests"] == ["food", "travel"]
    assert await c.ad_preferences.interests_of(viewer) == frozenset({"food", "travel"})
    again = await server.http.get("/client/v1/ads/preferences", headers=person.headers)
    assert again.json()["consented"] is True and again.json()["interests"] == ["food", "travel"]

    # Someone else's choices are their own.
    other = await server.user("Bia")
    assert (await server.http.get("/client/v1/ads/preferences", headers=other.headers)).json()["interests"] == []
    assert c.ad_viewers.of_person(int(other.user_id)) != viewer

    withdrawn = await server.http.put(
        "/client/v1/ads/preferences", headers=person.headers, json={"consented": False, "interests": []}
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["consented"] is False and withdrawn.json()["interests"] == []
    assert await c.ad_preferences.interests_of(viewer) == frozenset()
    # Consent again: the old topics are gone, nothing comes back by itself.
    back = await server.http.put("/client/v1/ads/preferences", headers=person.headers, json={"consented": True})
    assert back.json()["consented"] is True and back.json()["interests"] == []


async def test_bad_preferences_are_refused_and_change_nothing(server: LiveServer) -> None:
    person = await server.user("Ana")
    c = server.container
    viewer = c.ad_viewers.of_person(int(person.user_id))
    await server.http.put(
        "/client/v1/ads/preferences", headers=person.headers, json={"consented": True, "interests": ["pets"]}
    )
    for body in (
        {"consented": True, "interests": ["astrology"]},
        {"consented": False, "interests": ["pets"]},  # topics need consent
        {"consented": "yes"},
        {"interests": ["pets"]},
        {"consented": True, "interests": ["pets"], "age": 30},
    ):
        response = await server.http.put("/client/v1/ads/preferences", headers=person.headers, json=body)
        assert response.status_code in (400, 422), (body, response.text)
        assert "error" in response.json() and response.json()["error"]["message"]
    assert await c.ad_preferences.interests_of(viewer) == frozenset({"pets"})
    assert (await server.http.get("/client/v1/ads/preferences")).status_code == 401
