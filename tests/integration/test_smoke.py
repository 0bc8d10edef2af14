from tests.conftest import LiveServer


async def test_send_and_list(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = await server.send_text(alice, "hello", to=bob)
    chats = (await server.http.get("/client/v1/chats", headers=bob.headers)).json()["chats"]
    assert chats[0]["id"] == sent["chat_id"]
    assert chats[0]["unread_count"] == 1
    assert chats[0]["last_message"]["text"] == {"body": "hello"}
