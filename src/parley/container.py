"""The only place that picks implementations (SQLite or PostgreSQL, memory or Redis) from settings."""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass

from parley.accounts import (
    AccountService,
    CodeSender,
    DevCodeSender,
    HttpSmsSender,
    NoCodeSender,
    revocation_counter_sql,
)
from parley.ads import AdsManager, AdsPreferences, ViewerIds
from parley.ads.attribution import AdAttribution  # ads-attrib
from parley.ads.clicks import AdClicks, ClickTokens  # ads-serve
from parley.ads.conversions import ConversionsApi  # ads-attrib
from parley.ads.insights import AdInsights  # ads-attrib
from parley.ads.server import AdServer  # ads-serve
from parley.affiliates import AffiliateCommissions, AffiliatePrograms  # affiliates
from parley.billing import BillingService
from parley.business import (
    BusinessAccounts,
    BusinessForInbox,
    BusinessNumbers,
    BusinessOutbox,
    BusinessProfiles,
    BusinessSweeps,
    ConversationObservers,
    GraphMedia,
    InboundBridge,
    MediaUrls,
    QrCodes,
    QualityObserver,
    ReferralLinks,
)
from parley.business.media import fetch_media_link_with
from parley.business.sender import CloudApiSender
from parley.channels import ChannelFanout, ChannelService, ChannelSubscriptions  # channels
from parley.commerce import CartOrders, Carts, Catalogs, InboxCatalog
from parley.config import Settings
from parley.e2ee import E2EEService  # e2ee
from parley.inbox import InboxCommerce, InboxService
from parley.kit.clock import Clock, SystemClock
from parley.kit.files import create_private_file
from parley.kit.ids import IdGenerator
from parley.kit.periodic import PeriodicTask  # channels
from parley.ledger import Ledger, LedgerService
from parley.media import MediaService
from parley.messaging import LiveStreams, MessagingService, shared_chat_peers_in, user_topic
from parley.payments import (
    Disputes,
    FeeSchedule,
    MarketLimits,
    MerchantPayments,
    PaymentService,
    Payouts,
    PersonPayments,
    SandboxBank,
    SandboxPaymentProvider,
    SandboxStore,
    SandboxWalletProvider,
    WalletProvider,
    Wallets,
)
from parley.platform.bus import Bus, MemoryBus
from parley.platform.db import Database, SqliteCounter, create_database, sqlite_file_of
from parley.platform.ratelimit import MemoryRateLimiter, RateLimiter
from parley.privacy import PrivacyService
from parley.rights import RightsService  # rights
from parley.signals import Consents, SignalRecorder, Signals  # signals
from parley.subscriptions import SubscriptionService  # subscriptions
from parley.templates import TemplateCache, TemplateService
from parley.webhooks import WebhookService

log = logging.getLogger(__name__)


@dataclass
class Container:
    settings: Settings
    clock: Clock
    ids: IdGenerator
    db: Database
    bus: Bus
    rate_limiter: RateLimiter
    code_sender: CodeSender
    accounts: AccountService
    messaging: MessagingService
    media: MediaService
    privacy: PrivacyService
    e2ee: E2EEService  # e2ee
    business: BusinessAccounts
    business_numbers: BusinessNumbers
    template_cache: TemplateCache
    sender: CloudApiSender
    business_sweeps: BusinessSweeps
    qr_codes: QrCodes
    profiles: BusinessProfiles
    graph_media: GraphMedia
    business_for_inbox: BusinessForInbox
    billing: BillingService
    ledger: LedgerService
    media_urls: MediaUrls
    webhooks: WebhookService
    templates: TemplateService
    inbox: InboxService
    streams: LiveStreams
    referral_links: ReferralLinks
    payments: PaymentService
    inbox_commerce: InboxCommerce
    payouts: Payouts
    disputes: Disputes
    catalogs: Catalogs
    merchant_payments: MerchantPayments
    carts: Carts  # cart
    cart_orders: CartOrders  # cart
    wallets: Wallets
    person_payments: PersonPayments
    ads: AdsManager  # ads
    ad_preferences: AdsPreferences  # ads
    ad_viewers: ViewerIds  # ads
    ad_conversions: ConversionsApi  # ads-attrib
    ad_insights: AdInsights  # ads-attrib
    ad_server: AdServer  # ads-serve
    ad_clicks: AdClicks  # ads-serve
    subscriptions: SubscriptionService  # subscriptions
    affiliates: AffiliatePrograms  # affiliates
    affiliate_commissions: AffiliateCommissions  # affiliates
    channels: ChannelService  # channels
    rights: RightsService  # rights
    channel_fanout: ChannelFanout  # channels
    channel_sweep: PeriodicTask  # channels
    consents: Consents  # signals
    signals: Signals  # signals
    signal_recorder: SignalRecorder  # signals
    revocation_counter: SqliteCounter | None = None
    background: bool = True  # webhook delivery and the periodic sweeps run in this process

    async def start(self) -> None:
        await self.bus.start()
        await self.accounts.start()
        await self.billing.start()
        await self.business_numbers.start()
        await self.template_cache.start()
        await self.business.start()
        await self.business_sweeps.start()
        await self.webhooks.start()
        if self.background:
            await self.templates.start()  # the review loop
        await self.inbox.start()
        await self.media.start()
        await self.payouts.start()
        if self.background:
            self.wallets.start()  # settles top-ups and withdrawals the payment provider left unanswered
            self.merchant_payments.start()  # settles orders a dead process left `processing`
            self.affiliate_commissions.start()  # affiliates: pays commissions whose refund window closed
        await self.ad_server.start()  # ads-serve: every serving process serves ads and flushes its own buffer
        self.channel_fanout.start()  # channels
        self.signal_recorder.flusher.start()  # signals: every serving process flushes its own counters
        if self.background:
            self.subscriptions.start()  # subscriptions: renewals, retries in grace, ends
            self.channel_sweep.start()  # channels: posts past their 30 days

    async def close(self) -> None:
        await self.signal_recorder.close()  # signals: the last window is written while the db is open
        await self.subscriptions.close()  # subscriptions
        await self.channel_sweep.close()  # channels
        self.channel_fanout.close()  # channels
        await self.ad_server.close()  # ads-serve: the last window of billed events is charged while the db is open
        await self.affiliate_commissions.close()  # affiliates
        await self.merchant_payments.close()
        await self.wallets.close()
        await self.payouts.close()
        await self.media.close()
        await self.inbox.close()
        await self.webhooks.close()
        await self.templates.close()
        await self.template_cache.close()
        await self.business_sweeps.close()
        await self.business.close()
        await self.bus.close()
        await self.code_sender.close()
        close = getattr(self.rate_limiter, "close", None)
        if close is not None:
            await close()
        if self.revocation_counter is not None:
            self.revocation_counter.close()
        await self.db.close()
        self.payments.close()


def build_container(settings: Settings, clock: Clock | None = None, *, background: bool | None = None) -> Container:
    """`background`: run webhook delivery and the periodic sweeps here (None: as `settings.worker` says; SQLite
    always does, `parley worker` passes True)."""
    clock = clock or SystemClock()
    ids = IdGenerator(clock)
    db = create_database(
        settings.resolved_database_url,
        sqlite_synchronous=settings.sqlite.synchronous,
        max_batch=settings.sqlite.max_batch,
        max_waiting=settings.admission.max_waiting_writes,
        slow_unit_ms=settings.admission.slow_write_ms,
        retry_after_s=settings.admission.retry_after_s,
    )
    if background is None:
        background = settings.worker.in_server or db.dialect == "sqlite"
        if not settings.worker.in_server and db.dialect == "sqlite":
            log.warning("PARLEY_WORKER__IN_SERVER=false is ignored on SQLite: this process delivers webhooks")
    if not background:
        settings = without_background(settings)
    bus: Bus
    rate_limiter: RateLimiter
    if settings.redis_url:
        from parley.platform.bus.redis import RedisBus
        from parley.platform.ratelimit.redis import RedisRateLimiter

        bus = RedisBus(settings.redis_url)
        rate_limiter = RedisRateLimiter(settings.redis_url)
    else:
        bus = MemoryBus()
        rate_limiter = MemoryRateLimiter(clock)
    code_sender = _code_sender(settings)
    # Development keeps limits generous (trying the product must not lock anyone out); production is strict.
    otp = settings.otp.for_development() if settings.dev_show_codes else settings.otp
    discovery = settings.discovery.for_development() if settings.dev_show_codes else settings.discovery
    # On SQLite the CLI revokes tokens from a process of its own, which no bus reaches: the database is the signal.
    sqlite_file = sqlite_file_of(settings.resolved_database_url) if db.dialect == "sqlite" else None
    revocations = None if sqlite_file is None else SqliteCounter(sqlite_file, revocation_counter_sql())
    # Codes are stored as HMACs keyed by a per-installation secret kept beside the data.
    code_secret = _installation_secret(settings)
    accounts = AccountService(
        db, bus, clock, ids, rate_limiter, code_sender, otp, discovery, code_secret, revocation_counter=revocations
    )
    messaging = MessagingService(
        db,
        bus,
        clock,
        ids,
        accounts,
        settings.limits,
        settings.public_url,
        people_encrypted_only=settings.e2ee.people_encrypted_only,
    )
    media = MediaService(
        db, clock, ids, rate_limiter, settings.resolved_media_dir, settings.limits.max_media_bytes, settings.media
    )
    privacy = PrivacyService(db, clock, ids, accounts, messaging)
    e2ee = E2EEService(db, clock, ids, bus, shared_chat_peers_in, user_topic)  # e2ee
    accounts.on_device_revoked(e2ee.forget_device_in)  # e2ee: a signed-out device's keys go with it
    journal = Ledger(ids, clock)
    billing = BillingService(db, bus, clock, ids, journal, settings.billing)
    business_secret = _derived(code_secret, "business")
    numbers = BusinessNumbers(db, bus, clock)
    template_cache = TemplateCache(bus, clock)
    outbox = BusinessOutbox(ids)
    conversation_observers = ConversationObservers()
    business = BusinessAccounts(
        db, bus, clock, ids, numbers, billing, settings.business, revocation_counter=revocations
    )
    sender = CloudApiSender(
        db,
        clock,
        ids,
        accounts,
        messaging,
        billing,
        rate_limiter,
        settings.business,
        business_secret,
        functools.partial(fetch_media_link_with, media, settings.media_fetch),
        numbers,
        outbox,
        conversation_observers,
        template_cache,
    )
    messaging.add_observer(
        InboundBridge(ids, numbers, sender, outbox, conversation_observers, billing, business_secret)
    )
    privacy.add_observer(QualityObserver(ids, numbers, outbox, settings.business))
    sweeps = BusinessSweeps(db, clock, ids, sender, outbox, billing, settings.business, business_secret, numbers)
    webhooks = WebhookService(db, clock, ids, settings.webhooks, bus=bus)
    outbox.after_write(webhooks.notify)  # deliver at once rather than at the next poll
    media_urls = MediaUrls(_derived(code_secret, "graph-media-urls"), settings.public_url)
    qr_codes = QrCodes(db, clock, numbers, settings.public_url)
    profiles = BusinessProfiles(db, clock, numbers, settings.public_url)
    provider = _payment_provider(settings, clock)
    catalogs = Catalogs(db, clock, ids, numbers, settings.public_url)
    sender.check_products_with(catalogs)  # product messages name products of the business's catalog
    payment_service = PaymentService(db, clock, ids, provider)
    merchant_payments = MerchantPayments(
        db,
        clock,
        ids,
        journal,
        payment_service,
        outbox,
        numbers,
        FeeSchedule.from_settings(settings.payments.fees),
        settings.payments,
    )
    sender.add_interactive_hook(merchant_payments)  # order_details and order_status are checked and stored
    pay_limits = MarketLimits(settings.person_pay)
    wallets = Wallets(db, clock, ids, journal, provider, pay_limits, settings.person_pay)
    person_payments = PersonPayments(db, clock, ids, journal, wallets, messaging, pay_limits, settings.person_pay)
    subscriptions = SubscriptionService(  # subscriptions
        db, clock, ids, journal, wallets, person_payments, messaging, pay_limits, settings.subscriptions
    )  # subscriptions
    messaging.set_join_gate(subscriptions.join_gate)  # subscriptions: paid groups
    for_inbox = BusinessForInbox(db, business, sender, messaging, outbox, conversation_observers, qr_codes, profiles)
    inbox = InboxService(db, bus, clock, ids, for_inbox, rate_limiter, settings.inbox)
    referral_links = ReferralLinks(
        db, clock, rate_limiter, settings.links, _derived(code_secret, "link-visitors"), settings.public_url
    )
    ad_viewers = ViewerIds(_derived(code_secret, "ad-viewers"))  # ads
    consents = Consents(db, clock, ids, settings.signals)  # signals
    signal_recorder = SignalRecorder(db, BusinessProfiles.verticals_in, settings.signals)  # signals
    messaging.add_observer(signal_recorder)  # signals: messages a person sends per day
    conversation_observers.add(signal_recorder)  # signals: businesses a person writes to
    merchant_payments.add_capture_observer(signal_recorder)  # signals: purchases
    ads = AdsManager(db, bus, clock, ids, numbers, billing, referral_links, settings.ads, settings.public_url)  # ads
    ad_attribution = AdAttribution(ids, ad_viewers, settings.ads)  # ads-attrib
    conversation_observers.add(ad_attribution)  # ads-attrib: chats, orders started from ads
    merchant_payments.add_capture_observer(ad_attribution)  # ads-attrib: purchases
    ad_attribution.add_click_observer(signal_recorder)  # signals: ad clicks, once tied to a person
    ad_server = AdServer(db, bus, clock, ids, journal, settings.ads)  # ads-serve
    ad_clicks = AdClicks(
        db, clock, ad_server, referral_links, ClickTokens(_derived(code_secret, "ad-clicks"))
    )  # ads-serve
    affiliates = AffiliatePrograms(
        db,
        clock,
        ids,
        numbers,
        catalogs,  # affiliates: the products a link can name
        rate_limiter,
        settings.links,
        _derived(code_secret, "affiliate-clicks"),
        settings.public_url,
    )  # affiliates
    affiliate_commissions = AffiliateCommissions(db, clock, ids, journal, numbers, settings.affiliates)  # affiliates
    merchant_payments.add_capture_observer(affiliate_commissions)  # affiliates: commissions on purchases
    merchant_payments.add_refund_observer(affiliate_commissions)  # affiliates: claw-backs on refunds
    disputes = Disputes(db, clock, ids, journal)
    disputes.add_observer(affiliate_commissions)  # affiliates: claw-backs on lost chargebacks
    streams = LiveStreams(settings.limits.max_streams_per_account)
    channel_subscriptions: ChannelSubscriptions = subscriptions.channel_access  # channels: subscriber-only posts
    channels = ChannelService(
        db, bus, clock, ids, accounts, messaging, numbers, channel_subscriptions, settings.public_url
    )  # channels
    channel_fanout = ChannelFanout(db, bus, clock, channel_subscriptions)  # channels
    streams.add_listener(channel_fanout)  # channels: online followers hear posts live
    return Container(
        settings=settings,
        clock=clock,
        ids=ids,
        db=db,
        bus=bus,
        rate_limiter=rate_limiter,
        code_sender=code_sender,
        accounts=accounts,
        messaging=messaging,
        media=media,
        privacy=privacy,
        e2ee=e2ee,  # e2ee
        business=business,
        business_numbers=numbers,
        template_cache=template_cache,
        sender=sender,
        business_sweeps=sweeps,
        qr_codes=qr_codes,
        profiles=profiles,
        graph_media=GraphMedia(db, clock, numbers, media, media_urls),
        business_for_inbox=for_inbox,
        billing=billing,
        ledger=LedgerService(db, journal),
        media_urls=media_urls,
        webhooks=webhooks,
        templates=TemplateService(db, clock, ids, settings.templates),
        inbox=inbox,
        streams=streams,
        referral_links=referral_links,
        payments=payment_service,
        inbox_commerce=InboxCommerce(inbox, InboxCatalog(db, clock, catalogs), clock, ids),
        payouts=Payouts(
            db,
            clock,
            ids,
            journal,
            SandboxBank() if isinstance(provider, SandboxPaymentProvider) else None,
            settings.payouts,
        ),
        disputes=disputes,
        catalogs=catalogs,
        merchant_payments=merchant_payments,
        carts=Carts(db, clock, messaging, numbers, ids, catalogs),  # cart
        cart_orders=CartOrders(db),  # cart
        wallets=wallets,
        person_payments=person_payments,
        ads=ads,  # ads
        ad_preferences=AdsPreferences(db, bus, clock, ad_viewers, consents),  # ads (signals: the one consent)
        ad_viewers=ad_viewers,  # ads
        ad_conversions=ConversionsApi(db, clock, ids),  # ads-attrib
        ad_insights=AdInsights(db, clock, settings.ads.conversion_rates),  # ads-attrib
        ad_server=ad_server,  # ads-serve
        ad_clicks=ad_clicks,  # ads-serve
        subscriptions=subscriptions,  # subscriptions (channels take `subscriptions.channel_access`)
        affiliates=affiliates,  # affiliates
        affiliate_commissions=affiliate_commissions,  # affiliates
        channels=channels,  # channels
        channel_fanout=channel_fanout,  # channels
        rights=RightsService(
            db, clock, accounts, messaging, media, e2ee, ad_viewers, signal_recorder.forget
        ),  # rights, signals
        channel_sweep=PeriodicTask("channels.sweep", settings.channels.sweep_interval_s, channels.sweep_expired),
        consents=consents,  # signals
        signals=Signals(db, clock, consents, settings.signals),  # signals
        signal_recorder=signal_recorder,  # signals
        revocation_counter=revocations,
        background=background,
    )


def without_background(settings: Settings) -> Settings:
    """The settings of a process that leaves webhook delivery and the periodic sweeps to `parley worker`."""
    return settings.model_copy(
        update={
            "webhooks": settings.webhooks.model_copy(update={"deliver": False}),
            "business": settings.business.model_copy(update={"sweep_interval_s": 0.0}),
            "media": settings.media.model_copy(update={"sweep_interval_s": 0.0}),
            "inbox": settings.inbox.model_copy(update={"automation_poll_s": 0.0}),
            "payouts": settings.payouts.model_copy(update={"interval_s": 0.0}),
            "person_pay": settings.person_pay.model_copy(update={"sweep_interval_s": 0.0}),
            "payments": settings.payments.model_copy(update={"sweep_interval_s": 0.0}),
            "subscriptions": settings.subscriptions.model_copy(update={"sweep_interval_s": 0.0}),  # subscriptions
            "affiliates": settings.affiliates.model_copy(update={"sweep_interval_s": 0.0}),  # affiliates
        }
    )


def _payment_provider(settings: Settings, clock: Clock) -> WalletProvider | None:
    """The sandbox takes test cards only: by default it is on where development codes are (never in production).
    One provider serves card top-ups of businesses and Parley Pay's cards, UPI and Pix."""
    choice = settings.payments.provider or ("sandbox" if settings.dev_show_codes else "none")
    if choice != "sandbox":
        return None
    # The sandbox remembers its payments in a file beside the data, as a real provider would across a restart.
    store = SandboxStore(settings.data_dir / "sandbox-provider.db")
    return SandboxWalletProvider(clock, store, settings.payments.sandbox_latency_ms / 1000)


def _code_sender(settings: Settings) -> CodeSender:
    """Development codes (logged, shown to loopback clients), an SMS provider, or none: sign-in by CLI only."""
    if settings.dev_show_codes:
        return DevCodeSender()
    if settings.sms.url:
        return HttpSmsSender(settings.sms)
    return NoCodeSender()


def _derived(secret: bytes, purpose: str) -> bytes:
    return hashlib.sha256(secret + purpose.encode()).digest()


def _installation_secret(settings: Settings) -> bytes:
    if settings.secret_key:
        return hashlib.sha256(settings.secret_key.encode()).digest()
    path = settings.data_dir / "secret.key"
    if not path.exists():
        import secrets

        create_private_file(path, secrets.token_bytes(32))  # 0600: whoever reads it can forge sign-in codes
    return hashlib.sha256(path.read_bytes()).digest()
