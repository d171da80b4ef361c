"""The console's pages: aiohttp handlers over :class:`~integrations.api.TenantApi`.

Every page but sign-in needs the session cookie (else a redirect to sign-in); every POST also
needs the form's CSRF token and a same-origin request. Every response carries a strict
Content-Security-Policy: no script at all, styles and images from this server only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import jinja2
from aiohttp import web

from integrations.api import ApiError, TenantApi
from integrations.audit_summary import SummaryCounts
from integrations.store import IntegrationStore
from ops.formats import redrive_note, redrive_target
from ops.reader import TopicUnreadable
from ops.trail import TrailStep
from schemas.audit_reasons import fix_for
from streams.web.console import forms, health
from streams.web.console.dead_letters import SHOWN, DeadLetterSource, RedriveRun
from streams.web.console.session import COOKIE, LIFETIME_SECONDS, Session, SessionSigner
from streams.web.guard import read_body

log = logging.getLogger(__name__)

ROOT = "/console"
HERE = Path(__file__).parent
STATIC = {"console.css": "text/css"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Not no-referrer: with it, browsers send "Origin: null" on form posts.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# The audit trail of (tenant, conversation): blocking, run in a thread.
TrailSource = Callable[[str, str], list[TrailStep]]
# A POST's form, read once (by the CSRF check, then by the page).
FORM = web.RequestKey("console_form", dict[str, str])
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Page = Callable[[web.Request, Session], Awaitable[web.StreamResponse]]


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    # A path segment: a tenant id may hold '/', '?' or '#'.
    env.filters["segment"] = lambda value: quote(str(value), safe="")
    env.globals["hints"] = forms.CHECK_HINTS
    env.globals["fix_for"] = fix_for
    env.filters["moment"] = _moment
    return env


class Console:
    """The pages, bound to one worker's tenant API and stores."""

    def __init__(
        self,
        *,
        api: TenantApi,
        integrations: IntegrationStore,
        counts: SummaryCounts,
        signer: SessionSigner,
        trail: TrailSource,
        dead_letters: DeadLetterSource,
        max_body: int,
    ) -> None:
        self._api = api
        self._integrations = integrations
        self._counts = counts
        self._signer = signer
        self._trail_of = trail
        self._dead_letters = dead_letters
        self._max_body = max_body
        self._env = environment()
        self._static = {name: (HERE / "static" / name).read_bytes() for name in STATIC}

    def routes(self) -> list[web.RouteDef]:
        t = ROOT + "/tenants/{tenant_id}"
        return [
            web.get(ROOT, self._open(self._home)),
            web.get(ROOT + "/", self._open(self._home)),
            web.get(ROOT + "/static/{name}", self._open(self._asset)),
            web.get(ROOT + "/sign-in", self._open(self._sign_in_form)),
            web.post(ROOT + "/sign-in", self._open(self._sign_in)),
            web.post(ROOT + "/sign-out", self._signed_in(self._sign_out)),
            web.get(ROOT + "/tenants", self._signed_in(self._tenants)),
            web.get(ROOT + "/connect", self._signed_in(self._connect_form)),
            web.post(ROOT + "/connect", self._signed_in(self._connect)),
            web.get(t, self._signed_in(self._health)),
            web.get(t + "/settings", self._signed_in(self._settings_form)),
            web.post(t + "/settings", self._signed_in(self._save_settings)),
            web.get(t + "/rotate", self._signed_in(self._rotate_form)),
            web.post(t + "/rotate", self._signed_in(self._rotate)),
            web.get(t + "/disconnect", self._signed_in(self._disconnect_form)),
            web.post(t + "/disconnect", self._signed_in(self._disconnect)),
            web.post(t + "/recheck", self._signed_in(self._recheck)),
            web.get(t + "/trail", self._signed_in(self._trail)),
            web.get(t + "/redrive", self._signed_in(self._redrive_plan)),
            web.post(t + "/redrive", self._signed_in(self._redrive)),
        ]

    # -- the frame: sessions, CSRF, headers ---------------------------------------------

    def _open(self, handler: Handler) -> Handler:
        async def page(request: web.Request) -> web.StreamResponse:
            if request.method == "POST" and not _same_origin(request):
                return self._secured(web.Response(status=403, text="Cross-site request refused."))
            return self._secured(await handler(request))

        return page

    def _signed_in(self, handler: Page) -> Handler:
        async def page(request: web.Request) -> web.StreamResponse:
            session = self._signer.read(request.cookies.get(COOKIE))
            if session is None:
                return self._secured(_redirect(ROOT + "/sign-in"))
            if request.method == "POST":
                form = await self._form(request)
                if not _same_origin(request) or not self._signer.csrf_matches(
                    session, form.get("csrf")
                ):
                    text = "The form expired or came from elsewhere; reload the page and retry."
                    return self._secured(web.Response(status=403, text=text))
            try:
                return self._secured(await handler(request, session))
            except ApiError as exc:
                # Not the guard's JSON: a person reads this one.
                return self._secured(
                    self._render("error.html", session, exc.status, message=exc.message)
                )

        return page

    def _secured(self, response: web.StreamResponse) -> web.StreamResponse:
        response.headers.update(SECURITY_HEADERS)
        return response

    async def _form(self, request: web.Request) -> dict[str, str]:
        if FORM not in request:
            body = await read_body(request, self._max_body)
            text = body.decode("utf-8", "replace")
            request[FORM] = dict(parse_qsl(text, keep_blank_values=True))
        return request[FORM]

    def _render(
        self, template: str, session: Session | None, status: int = 200, **context: Any
    ) -> web.Response:
        csrf = self._signer.csrf_token(session) if session else ""
        html = self._env.get_template(template).render(csrf=csrf, signed_in=bool(session),
                                                       **context)  # fmt: skip
        return web.Response(text=html, status=status, content_type="text/html")

    # -- sign-in ------------------------------------------------------------------------

    async def _home(self, request: web.Request) -> web.StreamResponse:
        return _redirect(ROOT + "/tenants")

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        return web.Response(body=self._static[name], content_type=STATIC[name])

    async def _sign_in_form(self, request: web.Request) -> web.StreamResponse:
        return self._render("sign_in.html", None, error="")

    async def _sign_in(self, request: web.Request) -> web.StreamResponse:
        form = await self._form(request)
        if not self._signer.token_matches(form.get("token", "")):
            log.info("console sign-in refused", extra={"remote": request.remote})
            return self._render("sign_in.html", None, 401, error="That is not the admin token.")
        response = _redirect(ROOT + "/tenants")
        response.set_cookie(
            COOKIE, self._signer.issue(), path=ROOT, max_age=LIFETIME_SECONDS, httponly=True,
            secure=request.secure, samesite="Strict",
        )  # fmt: skip
        log.info("console sign-in", extra={"remote": request.remote})
        return response

    async def _sign_out(self, request: web.Request, session: Session) -> web.StreamResponse:
        response = _redirect(ROOT + "/sign-in")
        response.del_cookie(COOKIE, path=ROOT)
        return response

    # -- tenants ------------------------------------------------------------------------

    async def _tenants(self, request: web.Request, session: Session) -> web.StreamResponse:
        rows = []
        for record in sorted(self._integrations.tenants(), key=lambda r: r.tenant_id):
            view = (await self._api.get(record.tenant_id)).body
            waiting = health.waiting(view)
            failures = [f for f in view["recentFailures"] if f["outcome"] == "failed"]
            rows.append(
                {
                    "view": view,
                    **self._counts.recent(record.tenant_id),
                    "waiting": waiting,
                    "attention": _attention(view, waiting, len(failures)),
                }
            )
        return self._render("tenants.html", session, rows=rows,
                            complete=self._counts.caught_up.is_set())  # fmt: skip

    async def _health(self, request: web.Request, session: Session) -> web.StreamResponse:
        view = await self._view(request)
        waiting = health.waiting(view)
        return self._render(
            "health.html", session, view=view, waiting=waiting,
            checklist=health.checklist(view, waiting.people),
            **self._counts.recent(view["tenantId"]),
            notice=request.query.get("done", ""),
            **await self._recent_letters(view["tenantId"]),
        )  # fmt: skip

    async def _recent_letters(self, tenant_id: str) -> dict[str, Any]:
        try:
            letters = await asyncio.to_thread(self._dead_letters.recent, tenant_id)
        except TopicUnreadable as exc:
            return {"letters": [], "letters_error": str(exc)}
        return {"letters": letters, "letters_error": ""}

    async def _recheck(self, request: web.Request, session: Session) -> web.StreamResponse:
        tenant_id = request.match_info["tenant_id"]
        await self._api.recheck(tenant_id)
        return _back_to(tenant_id, "recheck")

    async def _trail(self, request: web.Request, session: Session) -> web.StreamResponse:
        view = await self._view(request)
        conversation = request.query.get("conversation", "").strip()[:256]
        steps: list[TrailStep] = []
        error = ""
        if conversation:
            try:
                steps = await asyncio.to_thread(self._trail_of, view["tenantId"], conversation)
            except TopicUnreadable as exc:
                error = str(exc)
        return self._render("trail.html", session, view=view, conversation=conversation,
                            steps=steps, error=error)  # fmt: skip

    async def _redrive_plan(self, request: web.Request, session: Session) -> web.StreamResponse:
        """The dry run: what a re-drive would send where; nothing is produced."""
        return await self._run_redrive(request, session, request.query.get("letters", ""))

    async def _redrive(self, request: web.Request, session: Session) -> web.StreamResponse:
        form = await self._form(request)
        confirmed = form.get("confirm") == "yes"
        return await self._run_redrive(
            request, session, form.get("letters", ""), execute=confirmed,
            error="" if confirmed else "Tick the confirmation to re-drive.",
        )  # fmt: skip

    async def _run_redrive(
        self,
        request: web.Request,
        session: Session,
        chosen: str,
        *,
        execute: bool = False,
        error: str = "",
    ) -> web.StreamResponse:
        view = await self._view(request)
        places = _places(chosen)
        if not places:
            raise ApiError(400, "invalid_request", "Choose dead letters as partition/offset.")
        run, failed = RedriveRun([], None), ""
        try:
            run = await asyncio.to_thread(
                self._dead_letters.redrive, view["tenantId"], places, execute=execute
            )
        except TopicUnreadable as exc:
            failed = str(exc)
        rows = [
            {"plan": plan, "to": redrive_target(plan, i, run.sent), "note": redrive_note(plan)}
            for i, plan in enumerate(run.plans)
        ]
        return self._render(
            "redrive.html", session, 422 if error else 200, view=view, rows=rows,
            letters=",".join(f"{p}/{o}" for p, o in places), executed=run.sent is not None,
            sent=len(run.sent or {}),
            going=sum(1 for plan in run.plans if plan.problem is None),
            error=error or failed,
        )  # fmt: skip

    # -- the connect form ---------------------------------------------------------------

    async def _connect_form(self, request: web.Request, session: Session) -> web.StreamResponse:
        values = {"region": "us", "onConversationDeleted": "keep"}
        return self._render("connect.html", session, values=values, errors={}, editing=None)

    async def _connect(self, request: web.Request, session: Session) -> web.StreamResponse:
        form = await self._form(request)
        return await self._save(session, form.get("tenantId", "").strip(), form, editing=None)

    async def _settings_form(self, request: web.Request, session: Session) -> web.StreamResponse:
        view = await self._view(request)
        return self._render("connect.html", session, values=forms.saved_values(view), errors={},
                            editing=view)  # fmt: skip

    async def _save_settings(self, request: web.Request, session: Session) -> web.StreamResponse:
        view = await self._view(request)
        return await self._save(session, view["tenantId"], await self._form(request), editing=view)

    async def _save(
        self, session: Session, tenant_id: str, form: dict[str, str], *, editing: Any
    ) -> web.StreamResponse:
        body = forms.connect_body(form, editing=editing is not None)
        try:
            await self._api.put(tenant_id, body)
        except ApiError as exc:
            field = forms.FIELD_OF_ERROR.get(exc.code, "form")
            if exc.code == "invalid_request" and not tenant_id:
                field = "tenantId"
            errors = {field: exc.message, "code": exc.code}
            values = forms.shown_values(form)
            return self._render(
                "connect.html", session, 422,
                values=values, errors=errors, editing=editing,
            )  # fmt: skip
        return _back_to(tenant_id, "saved")

    async def _rotate_form(self, request: web.Request, session: Session) -> web.StreamResponse:
        return self._render("rotate.html", session, view=await self._view(request), error="")

    async def _rotate(self, request: web.Request, session: Session) -> web.StreamResponse:
        view = await self._view(request)
        form = await self._form(request)
        error = ""
        if form.get("confirm") != "yes":
            error = "Tick the confirmation to replace the key."
        else:
            try:
                await self._api.put(
                    view["tenantId"], forms.rotation_body(view, form.get("apiKey", ""))
                )
            except ApiError as exc:
                error = exc.message
        if error:
            return self._render("rotate.html", session, 422, view=view, error=error)
        return _back_to(view["tenantId"], "rotated")

    async def _disconnect_form(self, request: web.Request, session: Session) -> web.StreamResponse:
        return self._render("disconnect.html", session, view=await self._view(request), error="")

    async def _disconnect(self, request: web.Request, session: Session) -> web.StreamResponse:
        view = await self._view(request)
        form = await self._form(request)
        if form.get("confirmTenant", "").strip() != view["tenantId"]:
            error = "Type the tenant id exactly to confirm."
            return self._render("disconnect.html", session, 422, view=view, error=error)
        await self._api.delete(view["tenantId"])
        return _back_to(view["tenantId"], "disconnected")

    async def _view(self, request: web.Request) -> dict[str, Any]:
        return (await self._api.get(request.match_info["tenant_id"])).body


def _attention(view: dict[str, Any], waiting: health.Waiting, failures: int) -> list[str]:
    """What needs a person, in a few words each."""
    items = []
    if view["status"] != "connected":
        items.append(
            f"{view['status']}" + (f" ({view['statusReason']})" if view.get("statusReason") else "")
        )
    items.extend(p.instruction for p in waiting.people[:3])
    if len(waiting.people) > 3:
        items.append(f"{len(waiting.people) - 3} more people to add")
    if failures:
        items.append(f"{failures} recent failures")
    return items


def _places(chosen: str) -> list[tuple[int, int]]:
    """Dead letters named as ``partition/offset``, comma-separated; [] when any is not one."""
    places = []
    for item in chosen.split(",")[:SHOWN]:
        partition, _, offset = item.strip().partition("/")
        if not all(part.isascii() and part.isdigit() for part in (partition, offset)):
            return []
        places.append((int(partition), int(offset)))
    return places


def _back_to(tenant_id: str, done: str) -> web.StreamResponse:
    return _redirect(f"{ROOT}/tenants/{quote(tenant_id, safe='')}?done={done}")


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _same_origin(request: web.Request) -> bool:
    """Refuse a POST a browser says came from another site (CSRF's first line)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    # The host alone: behind a TLS-terminating proxy the scheme seen here is http.
    return origin is None or urlsplit(origin).netloc == request.host


def _moment(value: str | int | None) -> str:
    """An ISO time or epoch milliseconds, as people read it (UTC, to the second)."""
    if value is None or value == "":
        return "-"
    try:
        at = (
            datetime.fromtimestamp(value / 1000, UTC)
            if isinstance(value, int)
            else datetime.fromisoformat(value).astimezone(UTC)
        )
    except (ValueError, OverflowError, OSError):
        return str(value)
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")
