"""The way back to Unthread: the tenant's URL template, the unthreadUrl trait, and files
without a public link pointing at the conversation."""

from __future__ import annotations

import dataclasses

import pytest

from integrations.validation import ConnectError, resolve_settings
from processors.unthread_link import conversation_url, template_problem
from schemas.integration import DEFAULT_UNTHREAD_URL_TEMPLATE
from tests.fakes import tenant_context
from tests.unit.sync_world import CONV, OPS, TENANT, UNTHREAD_LINK, World, created, posted, updated

TICKETS = "https://acme.unthread.example/tickets/{friendlyId}?c={conversationId}"
LOG_FILE = {"id": "F01", "name": "log.txt", "size": 120, "mimetype": "text/plain"}


def world(template: str) -> World:
    tenant = tenant_context(TENANT, default_admin_email=OPS)
    return World(dataclasses.replace(tenant, unthread_url_template=template))


def test_the_template_is_filled_in_and_values_are_encoded() -> None:
    assert conversation_url(DEFAULT_UNTHREAD_URL_TEMPLATE, CONV) == UNTHREAD_LINK
    assert conversation_url(TICKETS, "a/b?c", 42) == (
        "https://acme.unthread.example/tickets/42?c=a%2Fb%3Fc"
    )
    assert conversation_url(TICKETS, CONV, None) is None  # needs a ticket number it lacks


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        (DEFAULT_UNTHREAD_URL_TEMPLATE, None),
        (TICKETS, None),
        ("https://acme.example/t", "name the conversation"),
        ("https://acme.example/{id}", "unknown placeholder {id}"),
        ("javascript:alert('{conversationId}')", "http(s) URL"),
        ("ftp://acme.example/{conversationId}", "http(s) URL"),
        ('https://acme.example/{conversationId}" onclick="x', "http(s) URL"),
        ("/relative/{conversationId}", "http(s) URL"),
    ],
)
def test_a_template_is_checked(template: str, problem: str | None) -> None:
    found = template_problem(template)
    assert found == problem if problem is None else problem in (found or "")


def test_the_setting_is_kept_cleared_or_refused_like_the_others() -> None:
    assert resolve_settings({}, None).unthread_url_template is None
    given = resolve_settings({"unthreadUrlTemplate": f"  {TICKETS} "}, None)
    assert given.unthread_url_template == TICKETS
    assert resolve_settings({"unthreadUrlTemplate": None}, None).unthread_url_template is None
    with pytest.raises(ConnectError) as caught:
        resolve_settings({"unthreadUrlTemplate": "https://x.example/{ticket}"}, None)
    assert caught.value.code == "invalid_unthread_url_template"


async def test_a_new_conversation_carries_its_link_as_a_trait() -> None:
    w = world(TICKETS)
    await w.run(created(friendlyId=42))
    [stored] = w.vitally.conversations(TENANT)
    assert stored.body.traits["unthreadUrl"] == (
        f"https://acme.unthread.example/tickets/42?c={CONV}"
    )


async def test_without_what_the_template_needs_there_is_no_link() -> None:
    w = world(TICKETS)
    await w.run(created(friendlyId=None))
    [stored] = w.vitally.conversations(TENANT)
    assert "unthreadUrl" not in stored.body.traits


async def test_a_file_of_a_reply_links_to_the_ticket_the_conversation_shows() -> None:
    w = world(TICKETS)
    state = await w.synced_conversation(friendlyId=42)
    await w.run(posted("the log", files=[LOG_FILE]), state=state)
    reply = w.vitally.conversations(TENANT)[0].messages[-1]
    assert f'href="https://acme.unthread.example/tickets/42?c={CONV}"' in reply.body.message


async def test_a_file_without_any_link_is_listed_by_name() -> None:
    w = world(TICKETS)
    state = await w.synced_conversation(friendlyId=None)
    await w.run(posted("the log", files=[LOG_FILE]), state=state)
    reply = w.vitally.conversations(TENANT)[0].messages[-1]
    assert reply.body.message == "<p>the log</p><ul><li>log.txt (text/plain, 120 B)</li></ul>"


async def test_a_conversation_synced_before_it_had_a_link_gets_it_once() -> None:
    w = World()
    state = await w.synced_conversation()
    assert state.traits is not None
    before = state.model_copy(
        update={"traits": {k: v for k, v in state.traits.items() if k != "unthreadUrl"}}
    )
    result = await w.run(updated(assignee=None, status="open"), state=before, offset=2)
    assert result.detail is not None and "unthreadUrl" in result.detail.split(",")
    assert result.state is not None and result.state.traits is not None
    assert result.state.traits["unthreadUrl"] == UNTHREAD_LINK
    again = await w.run(updated(assignee=None, status="open"), state=result.state, offset=3)
    assert again.reason == "no_change"
