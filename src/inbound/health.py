"""Liveness and readiness, for load balancers and orchestrators."""

import structlog
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from pydantic import BaseModel
from sqlalchemy import text

from inbound.errors import RETRY_AFTER_UNAVAILABLE
from inbound.outage import unavailability

logger = structlog.get_logger(__name__)


class HealthRead(BaseModel):
    status: str


class ReadyRead(BaseModel):
    status: str
    database: str


class HealthController(Controller):
    tags = ["operations"]

    @get("/health", operation_id="health", summary="The process is alive")
    async def health(self) -> HealthRead:
        return HealthRead(status="ok")

    @get(
        "/ready",
        operation_id="ready",
        summary="The service can reach its database",
        responses={503: ResponseSpec(data_container=ReadyRead, description="Database unreachable")},
    )
    async def ready(self, state: State) -> Response[ReadyRead]:
        try:
            async with state.engine.connect() as connection:
                # Autocommit: a probe must not queue behind writers for a transaction.
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("SELECT 1"))
        except Exception as exc:  # whatever the driver raises, the answer is "not ready"
            logger.warning("database unreachable", reason=unavailability(exc) or repr(exc))
            return Response(
                ReadyRead(status="unavailable", database="unreachable"),
                status_code=503,
                headers={"Retry-After": RETRY_AFTER_UNAVAILABLE},
            )
        return Response(ReadyRead(status="ready", database="ok"))
