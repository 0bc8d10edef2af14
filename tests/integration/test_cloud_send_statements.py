"""Every hot statement of a Cloud API send's unit on the suite's dialect (SQLite, or PostgreSQL when asked)."""

from __future__ import annotations

from sqlalchemy import Connection

from parley.business import repository as business_repo
from parley.business import statements as business_hot
from parley.inbox import repository as inbox_repo
from parley.inbox import statements as inbox_hot
from parley.platform.db.driver import DriverCursor
from parley.templates import repository as template_repo
from parley.templates import statements as template_hot
from parley.webhooks import repository as webhook_repo
from tests.conftest import LiveServer
from tests.integration.business_helpers import create_business, person_writes


async def test_the_send_units_statements_read_and_write_what_sqlalchemy_does(server: LiveServer) -> None:
    biz = await create_business(server)
    alice = await server.user("Alice")
    await person_writes(server, alice, biz)
    number_id, person_id, waba_id = int(biz.phone_number_id), int(alice.user_id), int(biz.waba_id)
    message_id = server.container.ids.next_id()
    event_id = server.container.ids.next_id()

    def unit(conn: Connection) -> None:
        cursor = DriverCursor(conn)
        conversation = business_hot.get_conversation(cursor, number_id, person_id)
        assert conversation == business_repo.get_conversation(conn, number_id, person_id)
        assert conversation is not None and conversation.last_outbound_at is None
        assert business_hot.get_conversation(cursor, number_id, person_id + 1) is None
        business_hot.note_outbound(cursor, conversation.id, 1_000, 9_000)
        after = business_repo.get_conversation(conn, number_id, person_id)
        assert after is not None and (after.last_outbound_at, after.fep_expires_at) == (1_000, 9_000)
        row = business_repo.BusinessMessageRow(
            message_id=message_id,
            phone_number_id=number_id,
            waba_id=waba_id,
            person_id=person_id,
            direction="out",
            type="text",
            status=1,
            category="service",
            pricing_type="free_customer_service",
            billable=False,
            market="US",
            calling_code="1",
            origin="user_initiated",
            in_service_window=True,
            template_id=None,
            biz_opaque_callback_data="order-7",
            error_code=None,
            created_at=1_000,
            status_at=1_000,
        )
        business_hot.insert_business_message(cursor, row)
        assert business_repo.get_business_message(conn, message_id) == row
        # The ack and read path: which of the acked messages are this business's sends to the person.
        assert business_hot.outbound_to(cursor, person_id, [message_id, message_id + 1]) == [row]
        assert business_repo.outbound_to(conn, person_id, [message_id]) == [row]
        assert business_hot.outbound_to(cursor, person_id + 1, [message_id]) == []
        business_hot.set_status(cursor, message_id, 2, 3_000)
        delivered = business_repo.get_business_message(conn, message_id)
        assert delivered is not None and (delivered.status, delivered.status_at) == (2, 3_000)

        assert inbox_hot.touch_contact(cursor, waba_id, person_id, 2_000)
        assert not inbox_hot.touch_contact(cursor, waba_id, person_id + 1, 2_000)
        contact = inbox_repo.contact_of_person(conn, waba_id, person_id)
        assert contact is not None and contact.last_contact_at == 2_000
        thread = inbox_hot.note_outbound(cursor, conversation.id, 2_000, "Yes, at 9.")
        assert thread is not None and thread == inbox_repo.get_thread(conn, conversation.id)
        assert (thread.last_message_at, thread.last_message_text, thread.last_direction) == (2_000, "Yes, at 9.", "out")
        assert inbox_hot.note_outbound(cursor, conversation.id + 1, 2_000, "nobody") is None
        event = inbox_repo.EventRow(event_id, waba_id, conversation.id, "message_out", None, None, 0, 2_000)
        inbox_hot.insert_event(cursor, event)
        assert event in inbox_repo.events_between(conn, waba_id, 2_000, 2_001)

    await server.container.db.write("tests.test_the_send_units_statements_read_and_write_what_sqlalchemy_does", unit)


async def test_a_template_sends_count_adds_up_in_todays_bucket(server: LiveServer) -> None:
    template_id = server.container.ids.next_id()  # the stats table keys on the id alone
    day = 20_000 * template_repo.DAY_MS

    def unit(conn: Connection) -> None:
        cursor = DriverCursor(conn)
        template_hot.bump_sends(cursor, template_id, day + 5)
        template_hot.bump_sends(cursor, template_id, day + 6)
        template_repo.bump_stats(conn, template_id, day + 7, negatives=1)
        assert template_repo.window_totals(conn, template_id, day, 1) == (2, 1)
        template_hot.bump_sends(cursor, template_id, day + template_repo.DAY_MS)  # the next day's bucket
        assert template_repo.window_totals(conn, template_id, day + template_repo.DAY_MS, 1) == (1, 0)
        assert template_repo.window_totals(conn, template_id, day + template_repo.DAY_MS, 2) == (3, 1)

    await server.container.db.write("tests.test_a_template_sends_count_adds_up_in_todays_bucket", unit)


async def test_a_status_update_is_enqueued_once_however_often_its_unit_runs(server: LiveServer) -> None:
    biz = await create_business(server)
    event_id = server.container.ids.next_id()
    value = {"statuses": [{"id": "wamid.x", "status": "sent"}], "name": "Zoë"}

    def unit(conn: Connection) -> None:
        for _ in range(2):
            webhook_repo.enqueue(
                conn, waba_id=int(biz.waba_id), field="messages", value=value, phone_number_id=7, event_id=event_id
            )
        row = webhook_repo.get_event(conn, event_id)
        assert row is not None
        assert (row.waba_id, row.phone_number_id, row.field, row.value) == (int(biz.waba_id), 7, "messages", value)
        assert (row.state, row.attempts, row.next_attempt_at) == ("pending", 0, row.created_at)
        assert [e.id for e in webhook_repo.list_events(conn, int(biz.waba_id))].count(event_id) == 1

    await server.container.db.write("tests.test_a_status_update_is_enqueued_once", unit)
