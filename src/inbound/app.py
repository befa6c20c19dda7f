"""The application factory."""

import asyncio
import gc
from datetime import timedelta
from importlib.metadata import version

from litestar import Litestar, Router
from litestar._asgi.utils import wrap_in_exception_handler
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.plugins.pydantic import PydanticPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

import inbound.models  # noqa: F401  (maps every table before the first request)
from inbound.auth.controller import ApiKeyController
from inbound.auth.principal import authenticate
from inbound.caching import no_store_middleware
from inbound.churn.controller import ChurnController, LeadRiskController
from inbound.config import Settings, get_settings
from inbound.content.controller import AssetController, AssetTagController
from inbound.contract import ContractJsonRenderPlugin, ContractSwaggerRenderPlugin
from inbound.crm.controller import CrmController, HubSpotWebhookController
from inbound.db import bind_of, create_engine, create_sessionmaker, provide_db_session
from inbound.errors import EXCEPTION_HANDLERS
from inbound.health import HealthController
from inbound.leads.capture.controller import CaptureController, CaptureLimits
from inbound.leads.capture.forms import AssetFormController
from inbound.leads.capture.reference import CaptureReference
from inbound.leads.controller import LeadController, LeadSettingsController
from inbound.leads.qualification.remap import remap_forever, settle_seconds
from inbound.leads.sales.controller import SalesController
from inbound.observability import configure_logging, request_context_middleware
from inbound.personas.controller import PersonaController
from inbound.privacy.controller import ErasureController
from inbound.proxies import trusted_proxies
from inbound.query_params import refuse_unknown_query_parameters
from inbound.ratelimit import RateLimiter, parse_limit
from inbound.reports.controller import ReportController
from inbound.reports.dashboard import DashboardController
from inbound.reports.journey_controller import JourneyReportController
from inbound.reports.survey_controller import SurveyReportController
from inbound.sites.controller import SiteController
from inbound.surveys.answer_controller import LinkAnswerController, SurveyAnswerController
from inbound.surveys.case_controller import CaseController, LeadCaseController
from inbound.surveys.controller import SurveyController, TouchpointController
from inbound.surveys.links import LinkKeys
from inbound.surveys.page import SurveyPageController
from inbound.tracking.controller import TrackingController
from inbound.tracking.identity_controller import IdentityMergeController, LeadIdentityController
from inbound.tracking.nbc.controller import (
    NbcRuleController,
    NbcSettingsController,
    NextController,
)
from inbound.tracking.nbc.snapshot import SnapshotCache
from inbound.tracking.snippet import SnippetController
from inbound.tracking.writer import EventWriter
from inbound.webhooks.controller import WebhookController
from inbound.worker import Worker

DOCS_ASSETS = "/docs/assets"
TAGS = [
    Tag(name="personas", description="Buyer personas: goals, pain points, matching rules."),
    Tag(name="assets", description="Content assets, their funnel stage and persona tags."),
    Tag(name="captures", description="Lead forms posted by sites, with their public keys."),
    Tag(
        name="tracking",
        description="Page views and events from sites' pages, as Segment's HTTP API takes them.",
    ),
    Tag(name="leads", description="Leads for the team: list, claim, work; persona, score, stage."),
    Tag(name="settings", description="Scoring, persona-mapping and next-best-content settings."),
    Tag(
        name="next-best-content",
        description="What to show a visitor next, and the rules that pin assets first.",
    ),
    Tag(
        name="surveys",
        description="NPS, CES and CSAT: touchpoints, surveys, their answers and signed links.",
    ),
    Tag(
        name="reports",
        description="The funnel: stage counts and conversion rates; NPS, CES and CSAT.",
    ),
    Tag(name="sites", description="Marketing sites, their origins and public keys."),
    Tag(name="api-keys", description="Server-side keys and their scopes."),
    Tag(name="webhooks", description="Signed deliveries of lead events, retried; their log."),
    Tag(name="crm", description="The HubSpot sync: status, backfills, HubSpot's webhooks."),
    Tag(name="operations", description="Health and readiness."),
]


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the service for these settings (by default, from the environment)."""
    settings = settings or get_settings()
    configure_logging(settings)
    engine = create_engine(
        settings.database_url, pool_size=settings.database_pool_size, echo=settings.database_echo
    )
    api = Router(
        path="/api/v1",
        route_handlers=[
            PersonaController,
            AssetController,
            AssetTagController,
            SiteController,
            ApiKeyController,
            LeadController,
            SalesController,
            LeadSettingsController,
            NbcRuleController,
            NbcSettingsController,
            WebhookController,
            CrmController,
            ErasureController,
            ChurnController,
            LeadRiskController,
            LeadIdentityController,
            IdentityMergeController,
            ReportController,
            SurveyReportController,
            JourneyReportController,
            TouchpointController,
            SurveyController,
            CaseController,
            LeadCaseController,
        ],
        guards=[authenticate, refuse_unknown_query_parameters],
        security=[{"bearerAuth": []}],
    )

    sessionmaker = create_sessionmaker(engine)
    background: set[asyncio.Task[None]] = set()

    async def freeze_startup_objects(app: Litestar) -> None:
        # The modules, the schema and the app are hundreds of thousands of objects that live
        # as long as the process: out of the collector's way, a busy ingest (many short-lived
        # dicts) spends a fraction of the time in garbage collection it did.
        gc.collect()
        gc.freeze()

    async def start_remapping(app: Litestar) -> None:
        if settings.remap_interval_seconds > 0:
            # The app's own sessionmaker, which tests may have replaced.
            task = asyncio.create_task(
                remap_forever(
                    app.state.sessionmaker,
                    settings.remap_interval_seconds,
                    gentle=True,
                    settle=settle_seconds(settings.cache_seconds),
                )
            )
            background.add(task)

    async def start_worker(app: Litestar) -> None:
        if settings.worker_in_process:
            worker = Worker(engine, settings)
            stop = asyncio.Event()

            async def work() -> None:
                try:
                    await worker.run(stop)
                finally:
                    await worker.close()

            background.add(asyncio.create_task(work()))

    async def stop_background_and_dispose_engine() -> None:
        # Events taken before the shutdown are stored and answered before the engine goes.
        await app.state.event_writer.close()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await engine.dispose()
        await app.state.capture_reference.close()

    app = Litestar(
        route_handlers=[
            api,
            CaptureController,
            TrackingController,
            NextController,
            SurveyAnswerController,
            LinkAnswerController,
            SurveyPageController,
            AssetFormController,
            HubSpotWebhookController,
            HealthController,
            DashboardController,
            SnippetController,
            create_static_files_router(
                path=DOCS_ASSETS, directories=[swagger_ui_path], include_in_schema=False
            ),
        ],
        dependencies={"db_session": Provide(provide_db_session)},
        exception_handlers=EXCEPTION_HANDLERS,
        # A route's own middleware (the capture's origin check reads the sites) raises past
        # the route's error handling; answer it here, inside the request id, the access log
        # and no-store, not from Litestar's outermost handler.
        middleware=[wrap_in_exception_handler],
        state=State(
            {
                "settings": settings,
                "engine": engine,
                "sessionmaker": sessionmaker,
                "rate_limiter": RateLimiter.from_url(settings.redis_url),
                "capture_limits": CaptureLimits(
                    per_ip=parse_limit(settings.capture_rate_per_ip),
                    per_key=parse_limit(settings.capture_rate_per_key),
                ),
                "tracking_limit": parse_limit(settings.tracking_rate_per_ip),
                "survey_limit": parse_limit(settings.survey_rate_per_ip),
                "survey_link_keys": LinkKeys(settings.signing_key),
                "tracking_retention": timedelta(days=settings.tracking_retention_days),
            }
        ),
        on_startup=[start_remapping, start_worker, freeze_startup_objects],
        on_shutdown=[stop_background_and_dispose_engine],
        openapi_config=openapi_config(settings),
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
        # None, not False: each request model's own `strict=True` then decides, so JSON types
        # are never coerced (no "5" for 5, no 0 for false), while enums still take their strings.
        plugins=[PydanticPlugin(validate_strict=None)],  # type: ignore[arg-type]
    )
    # Around the router itself, outermost first, so that the 404s and 405s it answers on its
    # own get the request id, the access log and no-store too; the log sees the real client.
    for wrap in reversed(
        (trusted_proxies(settings.trusted_proxies), request_context_middleware, no_store_middleware)
    ):
        app.asgi_handler = wrap(app.asgi_handler)
    reference = CaptureReference(
        lambda: app.state.sessionmaker, settings.cache_seconds, settings.redis_url
    )
    app.state.capture_reference = reference
    # The app's own sessionmaker at each write, which tests may have replaced.
    app.state.event_writer = EventWriter(lambda: bind_of(app.state.sessionmaker))
    snapshots = SnapshotCache(lambda: app.state.sessionmaker, settings.cache_seconds)
    app.state.nbc_snapshot = snapshots
    app.state.tables_changed = [reference.tables_changed, snapshots.tables_changed]
    return app


def openapi_config(settings: Settings) -> OpenAPIConfig:
    """The API contract, with interactive docs at /docs that need no outside network."""
    return OpenAPIConfig(
        title="inbound",
        version=version("inbound"),
        description="Inbound marketing backend: personas, content, lead capture, funnel reports "
        "and CRM sync. Errors are RFC 9457 problem details.",
        path="/docs",
        tags=TAGS,
        components=Components(
            security_schemes={
                "bearerAuth": SecurityScheme(
                    type="http", scheme="bearer", description="An API key: `inb_sk_...`."
                ),
                "siteKey": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="A site's public key, `inb_pk_...`; forms may send it as `_key`.",
                ),
            }
        ),
        render_plugins=[
            ContractJsonRenderPlugin(),
            ContractSwaggerRenderPlugin(
                path="/",
                favicon=f"<link rel='icon' href='{DOCS_ASSETS}/favicon-32x32.png'>",
                js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
            ),
        ]
        if settings.docs_enabled
        else [ContractJsonRenderPlugin()],
    )
