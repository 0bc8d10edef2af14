"""Tables of the team inbox: agents and their sessions, the inbox state of each business conversation
(status, assignee, unread, queue), labels, private notes, quick replies, business hours with away and
greeting messages, routing per number, contacts, and the events reports are computed from."""

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, SmallInteger, String, Table, Text

from parley.kit.db import Id, metadata

inbox_agents = Table(
    "inbox_agents",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, ForeignKey("wabas.id"), nullable=False, index=True),
    # Sign-in is by email alone, so an email names one agent on the whole installation.
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(128), nullable=False),
    Column("role", String(8), nullable=False),  # owner | admin | agent
    Column("password_hash", String(256), nullable=True),  # argon2id; null until an invitation is accepted
    Column("invite_hash", String(64), nullable=True, unique=True),  # sha256 of the invitation token
    Column("availability", String(8), nullable=False, server_default="offline"),  # online | away | offline
    Column("capacity", Integer, nullable=False, server_default="10"),  # open conversations at most
    Column("open_count", Integer, nullable=False, server_default="0"),  # kept by routing: O(agents) decisions
    Column("skills", Text, nullable=False, server_default="[]"),  # JSON list of label ids
    Column("created_at", BigInteger, nullable=False),
    Column("disabled_at", BigInteger, nullable=True),
)

inbox_sessions = Table(
    "inbox_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the cookie's token
    Column("agent_id", Id, ForeignKey("inbox_agents.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

# The inbox side of a business conversation (business.conversations, one per number x person).
STATUSES = ("open", "pending", "resolved")

inbox_threads = Table(
    "inbox_threads",
    metadata,
    Column("conversation_id", Id, primary_key=True),
    Column("waba_id", Id, nullable=False),
    Column("phone_number_id", Id, nullable=False),
    Column("person_id", Id, nullable=False),
    Column("chat_id", Id, nullable=False),
    Column("status", String(8), nullable=False, server_default="open"),
    Column("assignee_id", Id, nullable=True),
    Column("unread", Integer, nullable=False, server_default="0"),
    Column("last_message_at", BigInteger, nullable=False),
    Column("last_message_text", String(160), nullable=False, server_default=""),
    Column("last_direction", String(3), nullable=False, server_default="in"),
    Column("last_inbound_at", BigInteger, nullable=True),  # the 24 h customer service window runs from here
    # Unassigned and open: waiting in the number's queue since then (longest-waiting first).
    Column("waiting_since", BigInteger, nullable=True),
    # The current period: opened by a person's message, answered first by a person on the team, resolved.
    Column("opened_at", BigInteger, nullable=True),
    Column("first_response_at", BigInteger, nullable=True),
    Column("resolved_at", BigInteger, nullable=True),
    Column("away_sent_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)
# The inbox list: one index range per filter, newest activity first, whatever the number of conversations.
Index("ix_inbox_threads_list", inbox_threads.c.waba_id, inbox_threads.c.status, inbox_threads.c.last_message_at)
Index(
    "ix_inbox_threads_assignee",
    inbox_threads.c.assignee_id,
    inbox_threads.c.status,
    inbox_threads.c.last_message_at,
)
Index("ix_inbox_threads_queue", inbox_threads.c.waba_id, inbox_threads.c.waiting_since)
Index("ix_inbox_threads_number", inbox_threads.c.phone_number_id, inbox_threads.c.last_message_at)
Index("ix_inbox_threads_chat", inbox_threads.c.chat_id)

inbox_labels = Table(
    "inbox_labels",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, ForeignKey("wabas.id"), nullable=False),
    Column("name", String(48), nullable=False),
    Column("colour", String(7), nullable=False),  # #rrggbb
    Column("created_at", BigInteger, nullable=False),
)
Index("uq_inbox_labels_waba_name", inbox_labels.c.waba_id, inbox_labels.c.name, unique=True)

inbox_thread_labels = Table(
    "inbox_thread_labels",
    metadata,
    Column("conversation_id", Id, primary_key=True),
    Column("label_id", Id, ForeignKey("inbox_labels.id"), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_inbox_thread_labels_label", inbox_thread_labels.c.label_id, inbox_thread_labels.c.conversation_id)

inbox_contacts = Table(
    "inbox_contacts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, ForeignKey("wabas.id"), nullable=False),
    Column("person_id", Id, nullable=False),
    Column("phone", String(20), nullable=False),
    Column("profile_name", String(128), nullable=False, server_default=""),  # what the person calls themself
    Column("name", String(128), nullable=False, server_default=""),  # what the business calls them
    Column("notes", Text, nullable=False, server_default=""),
    Column("first_contact_at", BigInteger, nullable=False),
    Column("last_contact_at", BigInteger, nullable=False),
    Column("last_inbound_at", BigInteger, nullable=True),  # greeting: new, or silent for 14 days
    Column("updated_at", BigInteger, nullable=False),
)
Index("uq_inbox_contacts_waba_person", inbox_contacts.c.waba_id, inbox_contacts.c.person_id, unique=True)
Index("ix_inbox_contacts_waba_last", inbox_contacts.c.waba_id, inbox_contacts.c.last_contact_at)

inbox_contact_labels = Table(
    "inbox_contact_labels",
    metadata,
    Column("contact_id", Id, ForeignKey("inbox_contacts.id"), primary_key=True),
    Column("label_id", Id, ForeignKey("inbox_labels.id"), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)

inbox_notes = Table(
    "inbox_notes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("conversation_id", Id, nullable=False),
    Column("agent_id", Id, ForeignKey("inbox_agents.id"), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_inbox_notes_conversation", inbox_notes.c.conversation_id, inbox_notes.c.created_at)

inbox_quick_replies = Table(
    "inbox_quick_replies",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, ForeignKey("wabas.id"), nullable=False),
    Column("shortcut", String(32), nullable=False),  # without the leading "/"
    Column("body", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
Index(
    "uq_inbox_quick_replies_waba_shortcut", inbox_quick_replies.c.waba_id, inbox_quick_replies.c.shortcut, unique=True
)

# Per business: weekly hours (JSON {"mon": [["09:00", "18:00"]], ...} in the business's time zone) and the
# automatic messages.
inbox_settings = Table(
    "inbox_settings",
    metadata,
    Column("waba_id", Id, ForeignKey("wabas.id"), primary_key=True),
    Column("hours", Text, nullable=False, server_default="{}"),
    Column("away_enabled", Boolean, nullable=False, server_default="0"),
    Column("away_text", Text, nullable=False, server_default=""),
    Column("greeting_enabled", Boolean, nullable=False, server_default="0"),
    Column("greeting_text", Text, nullable=False, server_default=""),
    Column("updated_at", BigInteger, nullable=False),
)

ROUTING_POLICIES = ("round_robin", "least_open", "by_label", "manual")

inbox_routing = Table(
    "inbox_routing",
    metadata,
    Column("phone_number_id", Id, ForeignKey("phone_numbers.id"), primary_key=True),
    Column("policy", String(16), nullable=False, server_default="round_robin"),
    Column("cursor_agent_id", BigInteger, nullable=True),  # round robin: the last agent given one
    Column("updated_at", BigInteger, nullable=False),
)

# Automatic messages to send after the unit that decided them commits (crash-safe: a row, not a task).
inbox_automations = Table(
    "inbox_automations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("conversation_id", Id, nullable=False),
    Column("kind", String(8), nullable=False),  # away | greeting
    Column("trigger_message_id", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("done_at", BigInteger, nullable=True),
    Column("outcome", String(160), nullable=True),
)
Index("uq_inbox_automations_trigger", inbox_automations.c.trigger_message_id, inbox_automations.c.kind, unique=True)
Index("ix_inbox_automations_due", inbox_automations.c.done_at, inbox_automations.c.id)

# What reports count, one row per fact: opened, reopened, assigned, first_response, resolved, message_in, message_out.

inbox_events = Table(
    "inbox_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, nullable=False),
    Column("conversation_id", Id, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("agent_id", BigInteger, nullable=True),
    # Milliseconds from the period's opening: first response time on first_response, resolution time on resolved.
    Column("duration_ms", BigInteger, nullable=True),
    Column("automated", SmallInteger, nullable=False, server_default="0"),
    Column("at", BigInteger, nullable=False),
)
Index("ix_inbox_events_waba_at", inbox_events.c.waba_id, inbox_events.c.at)
