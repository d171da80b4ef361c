"""The real client against the in-process Vitally sandbox: both sides agree on the wire format."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from vitally_sandbox import ManualClock, create_app

from processors.clock import SystemClock
from processors.conversation_index import ConversationIndex
from schemas.vitally import ConversationCreate, ConversationUpdate, MessageCreate, Participant
from vitally import TenantRateLimiter, VitallyAuthError, VitallyClient, VitallyTarget

BASE = "http://sandbox.test"
SEED: dict[str, Any] = {
    "orgs": [
        {
            "subdomain": "acme",
            "tokens": ["acme-secret"],
            "users": [{"id": "u-jane", "email": "Jane@Customer.example"}],
            "admins": [{"id": "a-sam", "email": "sam@vendor.example"}],
        },
        {"subdomain": "globex", "tokens": ["globex-secret"], "users": [], "admins": []},
    ]
}
ACME = VitallyTarget.for_tenant("T01ACME", "acme", "us", "acme-secret", BASE)


@pytest.fixture
async def client() -> AsyncIterator[tuple[VitallyClient, TenantRateLimiter]]:
    async def no_sleep(seconds: float) -> None:
        return None

    app = create_app(seed=SEED, clock=ManualClock(), sleep=no_sleep)
    limiter = TenantRateLimiter()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        yield VitallyClient(http, limiter=limiter), limiter


async def test_people_lookups(client: tuple[VitallyClient, TenantRateLimiter]) -> None:
    vitally, limiter = client
    user = await vitally.find_user_by_email(ACME, "jane@customer.example")
    admin = await vitally.find_admin_by_email(ACME, "sam@vendor.example")
    assert user is not None and user.id == "u-jane"
    assert admin is not None and admin.id == "a-sam"
    assert await vitally.find_admin_by_email(ACME, "nobody@vendor.example") is None
    assert [u.id for u in await vitally.list_users(ACME, limit=1)] == ["u-jane"]
    snapshot = limiter.snapshot(ACME.tenant_id)
    assert snapshot is not None and snapshot.remaining is not None  # RateLimit-* headers read


async def test_conversation_round_trip(client: tuple[VitallyClient, TenantRateLimiter]) -> None:
    vitally, _ = client
    first = MessageCreate(
        external_id="unthread:m-1",
        message="<p>Export fails</p>",
        from_=Participant(type="user", id="u-jane"),
        to=[Participant(type="admin", id="a-sam")],
        timestamp=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    )
    created = await vitally.create_conversation(
        ACME, ConversationCreate(external_id="c-1", subject="CSV", messages=[first])
    )
    # The list carries createdAt, which a look-up back to a given time relies on.
    assert created.created_at is not None
    since = created.created_at - timedelta(hours=1)
    index = ConversationIndex(vitally, clock=SystemClock())
    assert await index.conversation(ACME, "c-1", since) == created.id
    reply = first.model_copy(
        update={
            "external_id": "unthread:m-2",
            "from_": Participant(type="admin", id="a-sam"),
            "to": [Participant(type="user", id="u-jane")],
        }
    )
    posted = await vitally.add_message(ACME, created.id, reply)
    assert posted.external_id == "unthread:m-2"
    stored = await vitally.get_conversation(ACME, created.id)
    assert stored is not None
    assert [m.external_id for m in stored.messages] == ["unthread:m-1", "unthread:m-2"]


async def test_a_wrong_key_is_an_auth_error(
    client: tuple[VitallyClient, TenantRateLimiter],
) -> None:
    vitally, _ = client
    wrong = VitallyTarget.for_tenant("T09", "acme", "us", "not-a-key", BASE)
    with pytest.raises(VitallyAuthError):
        await vitally.list_users(wrong)


async def test_update_and_delete_round_trip(
    client: tuple[VitallyClient, TenantRateLimiter],
) -> None:
    vitally, _ = client
    first = MessageCreate(
        external_id="m-1",
        message="<p>Export fails</p>",
        from_=Participant(type="user", id="u-jane"),
        to=[Participant(type="admin", id="a-sam")],
    )
    created = await vitally.create_conversation(
        ACME,
        ConversationCreate(
            external_id="c-1", subject="CSV", messages=[first],
            traits={"unthreadStatus": "open", "unthreadAssigneeName": "Sam"},
        ),
    )  # fmt: skip
    change = ConversationUpdate(
        subject="CSV export fails",
        traits={"unthreadStatus": "closed", "unthreadAssigneeName": None},
    )
    await vitally.update_conversation(ACME, created.id, change)
    stored = await vitally.get_conversation(ACME, created.id)
    assert stored is not None and stored.subject == "CSV export fails"
    assert await vitally.delete_conversation(ACME, created.id) is True
    assert await vitally.get_conversation(ACME, created.id) is None
    assert await vitally.delete_conversation(ACME, created.id) is False


async def test_a_message_updated_by_external_id_then_deleted_by_its_id(
    client: tuple[VitallyClient, TenantRateLimiter],
) -> None:
    vitally, _ = client
    first = MessageCreate(
        external_id="m-1", message="<p>Export fails</p>",
        from_=Participant(type="user", id="u-jane"), to=[Participant(type="admin", id="a-sam")],
        timestamp=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    )  # fmt: skip
    second = first.model_copy(update={"external_id": "m-2", "message": "<p>Any news?</p>"})
    created = await vitally.create_conversation(
        ACME, ConversationCreate(external_id="c-1", subject="CSV", messages=[first, second])
    )
    edited = first.model_copy(update={"message": "<p>Export fails on Mondays</p>"})
    await vitally.update_conversation(ACME, created.id, ConversationUpdate(messages=[edited]))
    stored = await vitally.get_conversation(ACME, created.id)
    assert stored is not None
    [one, two] = stored.messages
    assert (one.external_id, one.message) == ("m-1", "<p>Export fails on Mondays</p>")
    assert one.id == created.messages[0].id and one.timestamp == first.timestamp
    assert one.from_ is not None and one.from_.as_request() == first.from_
    assert await vitally.delete_message(ACME, two.id) is True
    again = await vitally.get_conversation(ACME, created.id)
    assert again is not None and [m.external_id for m in again.messages] == ["m-1"]
    # Gone already, or never a message of this org: 404, read as "nothing to delete".
    assert await vitally.delete_message(ACME, two.id) is False
    assert await vitally.delete_message(ACME, "m-1") is False  # an externalId is no id
