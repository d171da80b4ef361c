"""The Vitally REST routes: users, admins, conversations and messages.

Each handler runs behind `gateway.ResourceGateway`, which has already authenticated the org,
so handlers only read the query or body, check it against the org and answer.
"""

from __future__ import annotations

from sandboxkit.errors import bad_request, conflict, not_found, parse_json
from sandboxkit.faults import DuplicatePolicy
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vitally_sandbox.gateway import authed_org
from vitally_sandbox.pagination import paginate, parse_limit, parse_sort_by
from vitally_sandbox.payloads import (
    ConversationIn,
    ConversationUpdateIn,
    MessageIn,
    check_participants,
)
from vitally_sandbox.render import admin_json, conversation_json, message_json, user_json
from vitally_sandbox.runtime import Sandbox
from vitally_sandbox.state import Conversation, Message, Org, User, new_id

_USER_SEARCH_KEYS = ("email", "externalId", "emailSubdomain")


class ResourceRoutes:
    """Handlers for `/resources/...`, bound to one sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        # Literal paths come before `{id}` paths so `search` is never taken for an id.
        return [
            Route("/resources/users", self.list_users, methods=["GET"]),
            Route("/resources/users/search", self.search_users, methods=["GET"]),
            Route("/resources/users/{id}", self.get_user, methods=["GET"]),
            Route("/resources/admins/search", self.search_admin, methods=["GET"]),
            Route("/resources/conversations", self.conversations, methods=["GET", "POST"]),
            Route(
                "/resources/conversations/{id}",
                self.conversation,
                methods=["GET", "PUT", "DELETE"],
            ),
            Route("/resources/conversations/{id}/messages", self.add_message, methods=["POST"]),
            Route("/resources/messages/{id}", self.message, methods=["GET", "DELETE"]),
        ]

    async def list_users(self, request: Request) -> JSONResponse:
        org = authed_org(request)
        query = request.query_params
        sort_by = parse_sort_by(query.get("sortBy"))
        page = paginate(
            org.users.values(),
            key=lambda u: (u.created_at, u.seq),
            sort_by=sort_by,
            limit=parse_limit(query.get("limit")),
            cursor=query.get("from"),
        )
        return JSONResponse({"results": [user_json(u) for u in page.items], "next": page.next})

    async def search_users(self, request: Request) -> JSONResponse:
        org = authed_org(request)
        given = [k for k in _USER_SEARCH_KEYS if k in request.query_params]
        if len(given) != 1:
            raise bad_request("Provide exactly one of email, externalId or emailSubdomain")
        key = given[0]
        value = request.query_params[key]
        if not value:
            raise bad_request(f"{key} must not be empty")
        found = [u for u in org.users.values() if _user_matches(key, value, u)]
        return JSONResponse({"results": [user_json(u) for u in found]})

    async def get_user(self, request: Request) -> JSONResponse:
        user = authed_org(request).users.get(request.path_params["id"])
        if user is None:
            raise not_found()
        return JSONResponse(user_json(user))

    async def search_admin(self, request: Request) -> JSONResponse:
        org = authed_org(request)
        email = request.query_params.get("email")
        if not email:
            raise bad_request("email is required")
        admin = next((a for a in org.admins.values() if a.email.lower() == email.lower()), None)
        if admin is None:
            raise not_found("Admin not found")
        return JSONResponse(admin_json(admin))

    async def conversations(self, request: Request) -> JSONResponse:
        # One route for both methods, so a PUT is told `Allow: GET, HEAD, POST`.
        if request.method == "POST":
            return await self.create_conversation(request)
        return await self.list_conversations(request)

    async def list_conversations(self, request: Request) -> JSONResponse:
        org = authed_org(request)
        query = request.query_params
        sort_by = parse_sort_by(query.get("sortBy"))
        page = paginate(
            org.conversations.values(),
            key=lambda c: (c.created_at if sort_by == "createdAt" else c.updated_at, c.seq),
            sort_by=sort_by,
            limit=parse_limit(query.get("limit")),
            cursor=query.get("from"),
        )
        results = [conversation_json(c, messages=False) for c in page.items]
        return JSONResponse({"results": results, "next": page.next})

    async def create_conversation(self, request: Request) -> JSONResponse:
        org = authed_org(request)
        body = parse_json(ConversationIn, await request.body())
        for i, message in enumerate(body.messages):
            check_participants(org, message, f"messages[{i}].")
        config = self.sandbox.config_for(org)
        if config.duplicate_conversations == "reject" and any(
            c.external_id == body.external_id for c in org.conversations.values()
        ):
            raise conflict(f"A conversation with externalId {body.external_id!r} already exists")
        now = self.sandbox.clock.now()
        conversation = Conversation(
            id=new_id(),
            external_id=body.external_id,
            subject=body.subject,
            traits=dict(body.traits or {}),
            messages=[],
            created_at=now,
            updated_at=now,
            seq=self.sandbox.store.next_seq(),
        )
        for message in body.messages:
            _check_duplicate_message(config.duplicate_messages, conversation, message)
            conversation.messages.append(_stored(conversation, message, now))
        org.conversations[conversation.id] = conversation
        return JSONResponse(conversation_json(conversation, messages=True))

    async def conversation(self, request: Request) -> Response:
        if request.method == "PUT":
            return await self.update_conversation(request)
        if request.method == "DELETE":
            return await self.delete_conversation(request)
        return await self.get_conversation(request)

    async def get_conversation(self, request: Request) -> JSONResponse:
        conversation = _conversation(authed_org(request), request)
        return JSONResponse(conversation_json(conversation, messages=True))

    async def update_conversation(self, request: Request) -> JSONResponse:
        """Vitally's update: `subject` replaced, `traits` merged into the stored ones (a null
        value removes that trait), `messages` upserted by externalId; read-only fields such
        as `status` are ignored. Answers the conversation as stored, with its messages."""
        org = authed_org(request)
        conversation = _conversation(org, request)
        body = parse_json(ConversationUpdateIn, await request.body())
        for i, message in enumerate(body.messages or []):
            check_participants(org, message, f"messages[{i}].")
        now = self.sandbox.clock.now()
        if "subject" in body.model_fields_set:
            conversation.subject = body.subject
        for name, value in (body.traits or {}).items():
            if value is None:
                conversation.traits.pop(name, None)
            else:
                conversation.traits[name] = value
        for message in body.messages or []:
            _upsert_message(conversation, message, now)
        conversation.updated_at = now
        return JSONResponse(conversation_json(conversation, messages=True))

    async def delete_conversation(self, request: Request) -> Response:
        """The conversation and its messages are gone; 404 when there is no such one."""
        org = authed_org(request)
        conversation = _conversation(org, request)
        del org.conversations[conversation.id]
        return Response(status_code=204)

    async def add_message(self, request: Request) -> JSONResponse:
        org = authed_org(request)
        conversation = _conversation(org, request)
        body = parse_json(MessageIn, await request.body())
        check_participants(org, body, "")
        policy = self.sandbox.config_for(org).duplicate_messages
        _check_duplicate_message(policy, conversation, body)
        now = self.sandbox.clock.now()
        message = _stored(conversation, body, now)
        conversation.messages.append(message)
        conversation.updated_at = now
        return JSONResponse(message_json(message))

    async def message(self, request: Request) -> Response:
        """One message by its Vitally id (never its externalId); a DELETE removes it from its
        conversation. 404 when the org has no message of that id."""
        org = authed_org(request)
        wanted = request.path_params["id"]
        for conversation in org.conversations.values():
            for i, message in enumerate(conversation.messages):
                if message.id != wanted:
                    continue
                if request.method == "GET":
                    return JSONResponse(message_json(message))
                del conversation.messages[i]
                conversation.updated_at = self.sandbox.clock.now()
                return Response(status_code=204)
        raise not_found()


def _user_matches(key: str, value: str, user: User) -> bool:
    if key == "email":
        return user.email.lower() == value.lower()
    if key == "emailSubdomain":
        return user.email.rpartition("@")[2].lower() == value.lower()
    return user.external_id == value


def _check_duplicate_message(
    policy: DuplicatePolicy, conversation: Conversation, message: MessageIn
) -> None:
    if policy == "reject" and any(
        m.external_id == message.external_id for m in conversation.messages
    ):
        raise conflict(
            f"A message with externalId {message.external_id!r} already exists in this conversation"
        )


def _upsert_message(conversation: Conversation, body: MessageIn, now: float) -> None:
    """Replace the message with the same externalId, keeping its id; else append it."""
    for i, existing in enumerate(conversation.messages):
        if existing.external_id == body.external_id:
            replaced = _stored(conversation, body, now)
            replaced.id = existing.id
            conversation.messages[i] = replaced
            return
    conversation.messages.append(_stored(conversation, body, now))


def _conversation(org: Org, request: Request) -> Conversation:
    conversation = org.conversations.get(request.path_params["id"])
    if conversation is None:
        raise not_found()
    return conversation


def _stored(conversation: Conversation, body: MessageIn, now: float) -> Message:
    return Message(
        id=new_id(),
        type="inbound" if body.sender.type == "user" else "outbound",
        external_id=body.external_id,
        conversation_id=conversation.id,
        message=body.message,
        timestamp=now if body.timestamp is None else body.timestamp,
        sender=body.sender.record(),
        to=[p.record() for p in body.to],
        cc=[p.record() for p in body.cc],
        bcc=[p.record() for p in body.bcc],
        received_at=now,
    )
