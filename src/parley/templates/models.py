"""Tables of message templates, the creation log behind Meta's hourly limit, and per-day quality counters."""

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, SmallInteger, String, Table, Text

from parley.kit.db import Id, metadata

message_templates = Table(
    "message_templates",
    metadata,
    Column("id", Id, primary_key=True),  # the Graph template id (hsm_id)
    Column("waba_id", Id, ForeignKey("wabas.id"), nullable=False),
    Column("name", String(512), nullable=False),
    Column("language", String(16), nullable=False),
    # The category the template is billed as now; `previous_category` is set when the review re-categorised it.
    Column("category", String(16), nullable=False),
    Column("previous_category", String(16), nullable=True),
    Column("correct_category", String(16), nullable=True),
    Column("sub_category", String(32), nullable=True),
    Column("parameter_format", String(16), nullable=False),  # POSITIONAL | NAMED
    Column("components", Text, nullable=False),  # JSON list, as submitted (component types upper-cased)
    Column("message_send_ttl_seconds", Integer, nullable=True),
    Column("status", String(24), nullable=False),  # PENDING | APPROVED | REJECTED | PAUSED | DISABLED
    Column("rejected_reason", String(32), nullable=False, server_default="NONE"),
    Column("review_message", Text, nullable=True),  # the review's human explanation
    Column("quality_score", String(8), nullable=False, server_default="UNKNOWN"),
    Column("quality_updated_at", BigInteger, nullable=True),
    Column("pause_count", SmallInteger, nullable=False, server_default="0"),
    Column("paused_at", BigInteger, nullable=True),
    Column("paused_until", BigInteger, nullable=True),  # set only while PAUSED: the review loop un-pauses
    Column("review_due_at", BigInteger, nullable=True),  # set only while PENDING: the review loop decides
    # Meta's edit limits for approved templates: one edit per 24 h, ten per 30 days.
    Column("edit_count", SmallInteger, nullable=False, server_default="0"),
    Column("edit_window_start", BigInteger, nullable=True),
    Column("last_edited_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
# The send path's one lookup, and the name + language uniqueness Meta enforces.
Index(
    "uq_message_templates_waba_name_language",
    message_templates.c.waba_id,
    message_templates.c.name,
    message_templates.c.language,
    unique=True,
)
Index("ix_message_templates_waba_id_id", message_templates.c.waba_id, message_templates.c.id)
Index("ix_message_templates_review_due_at", message_templates.c.review_due_at)
Index("ix_message_templates_paused_until", message_templates.c.paused_until)

# One row per template creation (kept one hour): Meta allows 100 creations per WABA per hour.
template_creations = Table(
    "template_creations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_template_creations_waba_created", template_creations.c.waba_id, template_creations.c.created_at)

# Sends and negative signals (blocks, reports) per template per UTC day: the quality rating reads 7 of them.
template_daily_stats = Table(
    "template_daily_stats",
    metadata,
    Column("template_id", Id, primary_key=True),
    Column("day", Integer, primary_key=True),  # unix milliseconds // 86_400_000
    Column("sends", Integer, nullable=False, server_default="0"),
    Column("negatives", Integer, nullable=False, server_default="0"),
)
