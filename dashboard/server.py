"""The dashboard's web server: Streamlit (``st.App``) plus the station's sign-in routes.

``streamlit run dashboard/server.py`` finds ``app`` and serves ``app.py`` with three more
routes, which exist because only an HTTP response can set an HttpOnly cookie:

* ``GET /station/sign-in?next=/review`` — the sign-in form (plain HTML: works before any
  script has loaded, and with the browser's password manager);
* ``POST /station/sign-in`` — checks the password, sets the station cookie, goes on to
  ``next`` (so a bookmark lands on its page after signing in);
* ``POST /station/sign-out`` — ends the cookie.

A page load without a valid cookie is sent to the form; one with a valid cookie renews it.
"""

from __future__ import annotations

import time
from html import escape
from urllib.parse import quote, urlsplit

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from streamlit.runtime.pages_manager import PagesManager

from dashboard import auth, signin_limits
from dashboard.source import start_logging, users_path
from vitals.errors import ChairsideError
from vitals.users import load_users

SIGN_IN, SIGN_OUT = "/station/sign-in", "/station/sign-out"
# Streamlit's own paths (scripts, websocket, media, components) and ours pass untouched.
PASS_THROUGH = ("/_stcore/", "/static/", "/media/", "/component/", "/app/static/", "/station/")
RENEW_AFTER_S = 24 * 3600

FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chairside — sign in</title>
<style>
body{{font-family:"Source Sans Pro",system-ui,sans-serif;background:#fff;color:#31333f;
  margin:0;display:flex;justify-content:center}}
main{{width:min(420px,92vw);margin-top:12vh}}
h1{{font-size:2rem;margin:0 0 .2rem}} .aid{{color:#6b6f7b;font-size:.9rem;margin:0 0 1.5rem}}
label{{display:block;margin:.9rem 0 .3rem}}
select,input{{width:100%;box-sizing:border-box;font-size:1.1rem;padding:.55rem;
  border:1px solid #c9ccd3;border-radius:.5rem;background:#f0f2f6}}
button{{margin-top:1.3rem;font-size:1.1rem;padding:.6rem 1.4rem;border:0;border-radius:.5rem;
  background:#c62828;color:#fff;cursor:pointer}}
.error{{background:#ffebee;color:#b71c1c;padding:.6rem .8rem;border-radius:.5rem}}
.why{{background:#fff8e1;padding:.6rem .8rem;border-radius:.5rem}}
</style></head>
<body><main>
<h1>Chairside</h1>
<p class="aid">Monitoring aid only — not a certified medical device.</p>
{message}
<form method="post" action="{action}">
<input type="hidden" name="next" value="{next}">
<label for="nurse">Nurse</label>
{field}
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" autofocus>
<button type="submit">Sign in</button>
</form>
</main></body></html>
"""


def sign_in_page(next_path: str, nurse: str = "", message: str = "", why: str = "") -> str:
    """The form; every name and message is escaped (names come from the users file)."""
    try:
        names = sorted(load_users(users_path()))
    except ChairsideError as exc:
        names, message = [], str(exc)
    options = "".join(
        f"<option{' selected' if name == nurse else ''}>{escape(name)}</option>" for name in names
    )
    if signin_limits.nurse_list_hidden():
        field = f'<input id="nurse" name="nurse" autocomplete="username" value="{escape(nurse)}">'
    else:
        field = f'<select id="nurse" name="nurse" autocomplete="username">{options}</select>'

    shown = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    if why and not message:
        shown = f'<p class="why">{escape(why)}</p>'
    return FORM.format(message=shown, action=SIGN_IN, next=escape(safe(next_path)), field=field)


def safe(path: str | None) -> str:
    return auth.safe_next(path)


async def show_form(request: Request) -> Response:
    query = request.query_params
    page = sign_in_page(query.get("next", "/"), query.get("nurse", ""), why=query.get("why", ""))
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


async def sign_in(request: Request) -> Response:
    if not same_origin(request):
        return PlainTextResponse("Sign-in refused: the form came from another site.", 403)
    form = await request.form()
    nurse, password = str(form.get("nurse", "")), str(form.get("password", ""))
    next_path = safe(str(form.get("next", "/")))
    peer = request.client.host if request.client else None
    client = signin_limits.client_of(peer, request.headers.get("x-forwarded-for", ""))
    found: list[str] = []

    def check() -> bool:
        stored = auth.check_password(nurse, password)
        found.extend([stored] if stored else [])
        return stored is not None

    try:
        refused = await run_in_threadpool(signin_limits.judge, nurse.strip(), client, check)
    except ChairsideError as exc:
        return HTMLResponse(sign_in_page(next_path, nurse, str(exc)), status_code=503)
    if refused:
        locked = refused.startswith("Too many")
        return HTMLResponse(sign_in_page(next_path, nurse, refused), 429 if locked else 401)
    stored = found[0]
    response = RedirectResponse(next_path, status_code=303)
    set_cookie(response, auth.issue(auth.station_key(users_path()), nurse.strip(), stored))
    return response


async def sign_out(request: Request) -> Response:
    if not same_origin(request):
        return PlainTextResponse("Sign-out refused: the request came from another site.", 403)
    response = RedirectResponse(SIGN_IN, status_code=303)
    response.delete_cookie(auth.COOKIE, path="/", httponly=True, samesite="strict")
    return response


def same_origin(request: Request) -> bool:
    """A form posted from our own page (browsers send Origin on POST); blocks cross-site
    sign-in and sign-out."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # old browsers and scripts: the SameSite cookie still protects acting
    return urlsplit(origin).netloc == request.headers.get("host", "")


def set_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        auth.COOKIE, token, max_age=auth.VIEW_FOR_S, path="/", httponly=True, samesite="strict"
    )


class StationGate:
    """Page loads: without a valid station cookie go to the sign-in form (keeping the page
    asked for); with one older than a day, renew it so a station left on stays signed in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_page_load(scope):
            await self.app(scope, receive, send)
            return
        key, users = auth.station_key(users_path()), _users()
        found = auth.read(key, Request(scope).cookies.get(auth.COOKIE), users)
        if found is None:
            asked = scope["path"]
            if scope["query_string"]:
                asked += "?" + scope["query_string"].decode("latin-1")
            await RedirectResponse(f"{SIGN_IN}?next={quote(asked)}", 303)(scope, receive, send)
            return
        if time.time() - found.cookie_set > RENEW_AFTER_S:
            send = _with_cookie(send, auth.issue(key, found.nurse, users[found.nurse], found))
        await self.app(scope, receive, send)


def _users() -> dict[str, str]:
    try:
        return load_users(users_path())
    except ChairsideError:
        return {}


def _is_page_load(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return False
    if scope["path"].startswith(PASS_THROUGH) or "." in scope["path"].rsplit("/", 1)[-1]:
        return False  # assets (favicon.png, manifest.json) are not pages
    accept = dict(scope["headers"]).get(b"accept", b"")
    return b"text/html" in accept


def _with_cookie(send: Send, token: str) -> Send:
    """Adds the renewed cookie to the page's response."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            holder = Response()
            set_cookie(holder, token)
            MutableHeaders(scope=message).append("set-cookie", holder.headers["set-cookie"])
        await send(message)

    return wrapped


# dashboard/pages/ holds page functions for st.navigation, not Streamlit's old file-per-page
# directory; without this, the first visit after a start to /review (a bookmark) would run
# pages/review.py as a script of its own and show an empty page.
PagesManager.uses_pages_directory = False
start_logging()  # sign-ins are logged from the first one, before any page has run

app = st.App(
    "app.py",
    routes=[
        Route(SIGN_IN, show_form, methods=["GET"]),
        Route(SIGN_IN, sign_in, methods=["POST"]),
        Route(SIGN_OUT, sign_out, methods=["POST"]),
    ],
    middleware=[Middleware(StationGate)],
)
