"""All settings in one place: environment variables with the PARLEY_ prefix (nested with `__`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, IPvAnyNetwork
from pydantic_settings import BaseSettings, SettingsConfigDict


class LimitSettings(BaseModel):
    max_json_bytes: int = 64 * 1024
    max_media_bytes: int = 16 * 1024 * 1024
    text_max_chars: int = 4096
    group_max_members: int = 1024
    # A personal group invitation (sent when privacy settings refuse a direct add) lapses after this (WhatsApp: 3 days).
    group_invite_ttl_s: int = Field(default=3 * 24 * 3600, ge=60)
    edit_window_s: int = 15 * 60
    # Delete for everyone works this long after sending (WhatsApp: about two and a half days).
    delete_window_s: int = Field(default=60 * 3600, ge=60)
    # Realtime streams one account may hold open in one server process (one per device; WhatsApp links 4 + phone).
    max_streams_per_account: int = Field(default=8, ge=1)


class OtpSettings(BaseModel):
    """Sign-in codes. Limits are production's; with development codes on they are `dev_limit_factor` times larger."""

    ttl_s: int = 600
    max_attempts: int = 5
    resend_interval_s: int = 30
    max_per_hour: int = Field(default=5, ge=1)  # per phone number
    # SMS pumping: every code is a paid text, so requests are also counted per client address and overall.
    max_per_address_per_hour: int = Field(default=20, ge=1)
    max_per_minute: int = Field(default=60, ge=1)  # the whole server (every process, with Redis)
    # Trying the product must not lock anyone out, yet a flood is still refused.
    dev_limit_factor: int = Field(default=20, ge=1)

    def for_development(self) -> OtpSettings:
        factor = self.dev_limit_factor
        return self.model_copy(
            update={
                "max_per_hour": self.max_per_hour * factor,
                "max_per_address_per_hour": self.max_per_address_per_hour * factor,
                "max_per_minute": self.max_per_minute * factor,
            }
        )


class SmsSettings(BaseModel):
    """The SMS provider that carries sign-in codes in production: each code is POSTed as JSON to `url`.

    The body is `{"to": "+E164", "from": sender, "text": message}` with `Authorization: Bearer <token>`; any
    2xx answer means accepted (most providers' HTTP APIs, or a small relay in front of one, take this shape).
    """

    url: str = ""  # empty: no provider, so codes can only be shown by development mode
    token: str = ""
    sender: str = "Parley"
    message: str = Field(default="Your Parley code is {code}. Do not share it.", pattern=r"\{code\}")
    timeout_s: float = Field(default=10.0, gt=0)


class DiscoverySettings(BaseModel):
    """Looking people up by phone number: limited per account and per client address against enumeration."""

    per_account_per_hour: int = Field(default=100, ge=1)
    per_address_per_hour: int = Field(default=300, ge=1)
    dev_limit_factor: int = Field(default=10, ge=1)  # with development codes on

    def for_development(self) -> DiscoverySettings:
        factor = self.dev_limit_factor
        return self.model_copy(
            update={
                "per_account_per_hour": self.per_account_per_hour * factor,
                "per_address_per_hour": self.per_address_per_hour * factor,
            }
        )


class BusinessSettings(BaseModel):
    # Meta's defaults: 80 messages/s per number (up to 1,000), a burst of 45 messages to one person per 6 s.
    default_throughput_mps: int = Field(default=80, ge=1, le=1000)
    pair_burst: int = Field(default=45, ge=1)
    pair_window_s: int = Field(default=6, ge=1)
    # Unique people reached outside the service window per rolling 24 h, tier by tier (then unlimited).
    messaging_limit_tiers: list[int] = [250, 2_000, 10_000, 100_000]
    # Quality: blocks + reports over this many days set the rating (see business/quality.py).
    quality_window_days: int = 7
    # How often each process re-rates numbers and raises tiers (0: never; tests call sweep_now()).
    sweep_interval_s: float = 60.0
    # How often each process writes when tokens were last used (noted in memory per call; 0: only when asked).
    token_use_flush_s: float = Field(default=60.0, ge=0)


class MediaFetchSettings(BaseModel):
    """Fetching media a business sends by `link` (Cloud API): a per-step timeout and a whole-fetch deadline."""

    timeout_s: float = Field(default=10.0, gt=0)
    total_timeout_s: float = Field(default=120.0, gt=0)
    # Off by default: a business's link must not reach the operator's own network (loopback, RFC 1918, ...).
    allow_private_networks: bool = False


class MediaSettings(BaseModel):
    """Storage limits of uploaded media, people's (`/client/v1/media`) and businesses' (Graph uploads, links)."""

    # Per account: bytes of media uploaded and never sent (not in any chat, not a profile picture).
    unsent_quota_bytes: int = Field(default=512 * 1024 * 1024, ge=0)
    # Unsent media is deleted this long after its upload (Meta keeps uploaded media 30 days).
    unsent_ttl_days: int = Field(default=30, ge=1)
    # Uploads per client address per window, over both upload routes.
    uploads_per_address: int = Field(default=60, ge=1)
    upload_window_s: int = Field(default=60, ge=1)
    # How often each process deletes expired unsent media (0: only when asked; tests call expire_unsent_now()).
    sweep_interval_s: float = Field(default=600.0, ge=0)


class LinkSettings(BaseModel):
    """Click-to-chat links and QR codes (`/c/{code}`): what a click costs and how clicks are counted."""

    # The same visitor (address and user agent) opening the same link within this window is one click.
    click_dedup_window_s: int = Field(default=3600, ge=1)
    # Clicks per client address per window, over all links; more are refused with 429.
    clicks_per_address: int = Field(default=60, ge=1)
    click_window_s: int = Field(default=60, ge=1)


class TemplateSettings(BaseModel):
    """Message templates: the automatic review runs this long after a submission, in every serving process."""

    review_delay_s: float = Field(default=1.0, ge=0)
    review_poll_s: float = Field(default=0.2, gt=0)
    max_names_per_waba: int = 250
    max_creations_per_hour: int = 100


class WebhookSettings(BaseModel):
    """Webhook delivery: every serving process runs a delivery loop over the shared outbox."""

    deliver: bool = True  # run the delivery loop in this process (tests drive it with deliver_due_now())
    poll_interval_ms: int = Field(default=50, ge=1)
    claim_batch: int = Field(default=500, ge=1)
    timeout_s: float = Field(default=5.0, gt=0)
    # Exponential back-off with full jitter from `backoff_base_s` up to `backoff_cap_s`, for `max_age_s`.
    backoff_base_s: float = Field(default=5.0, gt=0)
    backoff_cap_s: float = Field(default=3600.0, gt=0)
    max_age_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    # A hard deadline on each whole request (verification GET or delivery POST, answer included): a receiver
    # that drips its answer byte by byte still lets go of its slot by then. `timeout_s` bounds each step.
    deadline_s: float = Field(default=15.0, gt=0)
    max_concurrency: int = Field(default=256, ge=1)
    max_per_target: int = Field(default=16, ge=1)
    # Per business account (WABA), so one tenant's slow receivers cannot take every slot: concurrent
    # deliveries (beyond it, its events wait) and concurrent callback verifications (beyond it, refused).
    max_per_account: int = Field(default=32, ge=1)
    max_verifications: int = Field(default=64, ge=1)
    max_verifications_per_account: int = Field(default=4, ge=1)
    # Callbacks may only reach public addresses (checked on the address dialled, at connect time), except in
    # these networks: development and tests run receivers on loopback, e.g. ["127.0.0.0/8", "::1/128"].
    allowed_networks: list[IPvAnyNetwork] = []
    stream_queue: int = Field(default=1000, ge=1)
    # Claimed events are leased (renewed while held): after a crash another process or a restart takes
    # them over once the lease ran out.
    lease_s: float = Field(default=60.0, gt=0)
    # How long an event waits when an older one of its stream is being sent by another process.
    contention_delay_ms: int = Field(default=250, ge=1)


class BillingSettings(BaseModel):
    """Prepaid wallets and message pricing (see docs/billing.md)."""

    enabled: bool = True  # off: nothing is priced, held or charged (benchmarks compare both)
    trial_credit: str = Field(default="10", pattern=r"^\d+(\.\d{1,6})?$")  # in the wallet's currency, from promotions
    currency: str = Field(default="USD", pattern="^[A-Z]{3}$")  # of new businesses' wallets
    price_list: str = "meta-usd"  # the shipped card; operators load others with `parley billing load-card`
    # An undelivered message's reservation is released after this long (WhatsApp keeps them 30 days).
    hold_ttl_days: int = Field(default=30, ge=1, le=366)
    sweep_interval_s: float = Field(default=60.0, ge=0)  # 0: only when asked (tests)
    cbp_conversation_hours: int = Field(default=24, ge=1)
    # The operator's own volume-tier table (CSV: category,from,to,discount_bps,note); default: the shipped one.
    volume_tiers_csv: Path | None = None
    # Card top-ups from the console, in the wallet's currency: smaller or larger amounts are refused.
    topup_min: str = Field(default="5", pattern=r"^\d+(\.\d{1,6})?$")
    topup_max: str = Field(default="10000", pattern=r"^\d+(\.\d{1,6})?$")


class PaymentFeeSettings(BaseModel):
    """Parley Pay's commission on merchant payments, in basis points (399 = 3.99 %); person-to-person is free.

    The most specific key wins: "BR/physical-goods" (market/merchant category), then "BR", then `default_bps`.
    E.g. PARLEY_PAYMENTS__FEES__MERCHANT_BPS='{"BR": 399, "IN/digital-goods": 150}'.
    """

    merchant_bps: dict[str, int] = Field(default_factory=lambda: {"BR": 399})
    default_bps: int = Field(default=0, ge=0, le=10_000)


class PaymentSettings(BaseModel):
    """The payment provider that takes card top-ups: "sandbox" (test cards only, no money moves) or "none".
    Unset: the sandbox when development codes are on, none otherwise (test cards must not fund real wallets)."""

    provider: Literal["sandbox", "none"] | None = None
    fees: PaymentFeeSettings = PaymentFeeSettings()
    # An order left `processing` this long (its process died while the card was charged) is settled by the sweep
    # from the provider's answer; the sweep runs every `sweep_interval_s` (0: never, `parley payments settle`).
    settle_after_s: float = Field(default=60, ge=0)
    sweep_interval_s: float = Field(default=30, ge=0)
    # The sandbox answers a card's confirm this long after charging it, as a card network takes its time (tests
    # kill a server in that window); 0 answers at once.
    sandbox_latency_ms: int = Field(default=0, ge=0, le=10_000)


class PayoutSettings(BaseModel):
    """Parley Pay payouts to merchants' banks (see docs/payouts.md). Each capture is held `delay_days` before it
    can be paid out (Brazil's card schedule is about 2 days); a payout below `minimum` (in units of its currency)
    waits for the next day. The bank is the sandbox's where the payment provider is the sandbox, none otherwise."""

    delay_days: int = Field(default=2, ge=0, le=90)
    minimum: str = Field(default="1", pattern=r"^\d+(\.\d{1,6})?$")
    # How often each background process looks for due payouts; each merchant is paid once per UTC day (0: never,
    # tests and `parley payments payouts run` call it themselves).
    interval_s: float = Field(default=3600.0, ge=0)


class MarketCaps(BaseModel):
    """Parley Pay's limits on one market's person-to-person payments: amounts are decimal strings in `currency`,
    days and months run in `timezone`; None is no cap. `currency` None: payments in any wallet currency."""

    currency: str | None = None
    timezone: str = "UTC"
    min_per_payment: str | None = None
    max_per_payment: str | None = None
    max_payments_per_day: int | None = Field(default=None, ge=0)
    max_per_month: str | None = None


def _person_pay_markets() -> dict[str, MarketCaps]:
    # Brazil's launch limits (R$1,000 a payment, 20 a day, R$5,000 a month, at least R$1) and UPI's ₹1,00,000.
    return {
        "BR": MarketCaps(
            currency="BRL",
            timezone="America/Sao_Paulo",
            min_per_payment="1",
            max_per_payment="1000",
            max_payments_per_day=20,
            max_per_month="5000",
        ),
        "IN": MarketCaps(currency="INR", timezone="Asia/Kolkata", max_per_payment="100000"),
    }


class PersonPaySettings(BaseModel):
    """Parley Pay for people: wallet currencies, caps per market (the ISO region of a person's phone number; a
    market not listed gets `other_markets`), the payment PIN's guess limit, and top-up / withdrawal bounds."""

    currencies: list[str] = Field(default_factory=lambda: ["BRL", "INR", "USD", "EUR"])
    markets: dict[str, MarketCaps] = Field(default_factory=_person_pay_markets)
    other_markets: MarketCaps = MarketCaps()
    pin_attempts: int = Field(default=5, ge=1)
    pin_lock_minutes: int = Field(default=30, ge=1)
    topup_max: str = "10000"
    # A top-up or withdrawal the provider left unanswered this long is looked up by the sweep.
    settle_after_s: float = Field(default=30, ge=0)
    sweep_interval_s: float = Field(default=60, ge=0)


class SubscriptionSettings(BaseModel):  # subscriptions
    """Channel subscriptions and paid groups (docs/subscriptions.md): the platform's cut in basis points (1000 =
    10 %, per market of the subscriber: PARLEY_SUBSCRIPTIONS__CUT_BP_BY_MARKET='{"IN": 500}'), the grace after a
    failed renewal, how often it is retried, the highest price a plan may ask (in currency units), and the renewal
    sweep's interval (0: never; `parley subscriptions renew` runs one pass)."""

    platform_cut_bp: int = Field(default=1000, ge=0, le=10_000)
    cut_bp_by_market: dict[str, int] = Field(default_factory=dict)
    grace_days: int = Field(default=3, ge=0, le=30)
    retry_every_hours: float = Field(default=24, gt=0)
    max_price: str = "10000"
    sweep_interval_s: float = Field(default=300, ge=0)


class InboxSettings(BaseModel):
    """The team inbox: how often each process looks for away and greeting messages to send (0: only when asked),
    and how sign-in resists floods and guessing."""

    automation_poll_s: float = Field(default=1.0, ge=0)
    # Sign-in: argon2 (~0.1 s of CPU each) runs in a small pool of threads beside the event loop; when this many
    # are already waiting, a sign-in is refused at once (429) instead of queueing without bound.
    password_hash_threads: int = Field(default=2, ge=1, le=64)
    password_hash_queue: int = Field(default=16, ge=0)
    # Sign-in attempts before a 429: per client address (10 min), per address and email (15 min: the attacker's
    # address backs off, the agent elsewhere still signs in), per email from all addresses (1 h: a ceiling on
    # distributed guessing), and for the whole server (1 min).
    login_per_address: int = Field(default=30, ge=1)
    login_per_address_and_email: int = Field(default=5, ge=1)
    login_per_email: int = Field(default=200, ge=1)
    login_global: int = Field(default=600, ge=1)
    # A live inbox stream closes at once when its session ends (over the bus), and checks it again this often anyway.
    stream_session_check_s: float = Field(default=60.0, gt=0)


class AdsSettings(BaseModel):
    """Click-to-chat ads (see docs/ads.md): serving, attribution windows and who may be targeted by interest."""

    # Billed events are buffered and written (rows + one ledger transfer per ad set) at most this often.
    flush_interval_s: float = Field(default=1.0, gt=0)
    # The lowest price an impression or click clears at, in units of the account's currency per 1,000 impressions.
    reserve_cpm: str = Field(default="0.50", pattern=r"^\d+(\.\d{1,6})?$")
    click_window_days: int = Field(default=7, ge=1, le=28)
    view_window_days: int = Field(default=1, ge=0, le=7)
    # The operator's exchange rates for reporting (insights' revenue and ROAS): units of one reference currency per
    # unit of each currency. A purchase in another currency than the ad account's is converted at these; a
    # currency not listed is left out of revenue. Money never moves at these rates: they only compare.
    conversion_rates: dict[str, str] = Field(
        default_factory=lambda: {"USD": "1", "EUR": "1.08", "BRL": "0.18", "INR": "0.012", "GBP": "1.27"}
    )
    # Markets reached by market and language only (no interest segments) IN ADDITION to the EU/EEA, which
    # `parley.signals.rules` always excludes and no setting can bring back.  # signals
    no_interest_markets: list[str] = Field(default_factory=list)  # signals


class AffiliateSettings(BaseModel):  # affiliates
    """Affiliate links (see docs/affiliates.md): how often commissions whose refund window closed are paid."""

    sweep_interval_s: float = Field(default=60.0, ge=0)  # affiliates: 0 = only `parley affiliates release`


class ChannelSettings(BaseModel):  # channels
    """Channels (see docs/channels.md): the sweep that deletes posts past their 30 days."""

    # Reads already hide expired posts; the sweep frees their rows. 0: never (tests call it themselves).
    sweep_interval_s: float = Field(default=600.0, ge=0)


class SignalsSettings(BaseModel):  # signals
    """Metadata signals and consent (see docs/privacy.md)."""  # signals

    # Counters of people's sends are flushed this often; a crash loses at most one interval. 0: tests flush.
    flush_interval_s: float = Field(default=5.0, ge=0)  # signals
    # The version of the consent wording in force; bumping it shows people their choice was for an older one.
    wording_version: str = Field(default="2026-12-01", pattern=r"^[A-Za-z0-9._-]{1,32}$")  # signals
    window_days: int = Field(default=90, ge=1, le=400)  # signals: how far back the levers may look


class E2eeSettings(BaseModel):
    """End-to-end encryption of people's chats (see docs/e2ee.md)."""

    # True: the server refuses plaintext content in chats between people (texts, media, forwards and edits must be
    # `encrypted`), so it can never store a person's message in clear. Off by default: API clients that do not
    # encrypt (curl, older integrations) keep working; the web client and parley.client always encrypt.
    people_encrypted_only: bool = False


class SqliteSettings(BaseModel):
    # FULL: a commit reaches the disk before the 200 (group commit pays the fsync once per batch).
    synchronous: str = Field(default="FULL", pattern="^(OFF|NORMAL|FULL|EXTRA)$")
    max_batch: int = 256


class AdmissionSettings(BaseModel):
    """Overload is refused early (503 / Meta's 130429 with Retry-After), never queued without bound."""

    # HTTP requests one process serves at once; beyond it a send is refused before its body is read. Sized so
    # normal load never reaches it (a request in flight for ~10 ms at 10,000/s is ~100 at a time).
    max_requests_in_flight: int = Field(default=1024, ge=1)
    # Write units waiting for the SQLite writer (or for a PostgreSQL connection); beyond it `write` refuses.
    # Urgent units (acks, reads, webhook claims and results) have their own lane and are never refused.
    max_waiting_writes: int = Field(default=2048, ge=1)
    retry_after_s: int = Field(default=1, ge=1)
    # A write unit slower than this is logged with its name.
    slow_write_ms: float = Field(default=100.0, gt=0)


class ServerSettings(BaseModel):
    """Read deadlines of `parley serve` (uvicorn itself only times out connections idle between requests)."""

    header_timeout_s: float = Field(default=10.0, gt=0)  # a request's headers arrive whole within this
    body_timeout_s: float = Field(default=30.0, gt=0)  # and its body within this of the headers ...
    body_min_bytes_per_s: int = Field(default=4096, ge=1)  # ... plus one second per this many bytes received


class WorkerSettings(BaseModel):
    """Where webhook delivery and the periodic sweeps run. On PostgreSQL `in_server=false` leaves them to `parley
    worker` processes (serving processes then only take requests); SQLite always runs them in the server."""

    in_server: bool = True


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Path("./var")
    database_url: str = ""  # empty: SQLite file under data_dir
    redis_url: str | None = None
    media_dir: Path | None = None
    public_url: str = "http://127.0.0.1:8080"
    # Development: one-time codes are logged and shown at GET /client/v1/dev/codes instead of being texted.
    # `parley serve` refuses this on an interface other than loopback unless dev_allow_remote_codes is set,
    # and the endpoint answers loopback clients only (anyone who can read it can sign in as anyone).
    dev_show_codes: bool = False
    dev_allow_remote_codes: bool = False
    # Keys one-time-code hashes; every process of one deployment needs the same (default: ./var/secret.key).
    secret_key: str = ""
    log_level: str = "info"
    limits: LimitSettings = LimitSettings()
    otp: OtpSettings = OtpSettings()
    sms: SmsSettings = SmsSettings()
    discovery: DiscoverySettings = DiscoverySettings()
    sqlite: SqliteSettings = SqliteSettings()
    webhooks: WebhookSettings = WebhookSettings()
    templates: TemplateSettings = TemplateSettings()
    business: BusinessSettings = BusinessSettings()
    inbox: InboxSettings = InboxSettings()
    media_fetch: MediaFetchSettings = MediaFetchSettings()
    media: MediaSettings = MediaSettings()
    links: LinkSettings = LinkSettings()
    billing: BillingSettings = BillingSettings()
    payments: PaymentSettings = PaymentSettings()
    payouts: PayoutSettings = PayoutSettings()
    person_pay: PersonPaySettings = PersonPaySettings()
    ads: AdsSettings = AdsSettings()
    subscriptions: SubscriptionSettings = SubscriptionSettings()  # subscriptions
    affiliates: AffiliateSettings = AffiliateSettings()  # affiliates
    channels: ChannelSettings = ChannelSettings()  # channels
    signals: SignalsSettings = SignalsSettings()  # signals
    e2ee: E2eeSettings = E2eeSettings()
    server: ServerSettings = ServerSettings()
    worker: WorkerSettings = WorkerSettings()
    admission: AdmissionSettings = AdmissionSettings()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'parley.db'}"

    @property
    def resolved_media_dir(self) -> Path:
        return self.media_dir or self.data_dir / "media"
