import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from inbound.auth.scopes import Scope
from tests.churn.world import Churn
from tests.conftest import Headers, KeyMaker


@pytest.fixture
def churn(db: AsyncSession, connection: AsyncConnection) -> Churn:
    return Churn(db, connection)


@pytest.fixture
async def sales(make_key: KeyMaker) -> Headers:
    return await make_key(Scope.LEADS_READ, name="sales")
