"""The team inbox's pages: sign-in, invitation, sign-out and the app shell (its data flows through /inbox/api)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from parley.http import ContainerDep, client_address
from parley.inbox import (
    LOGIN_FORM_COOKIE,
    SESSION_COOKIE,
    AgentContext,
    CsrfError,
    forget_login_form_cookie,
    login_form_cookie,
    new_login_form_token,
    same_token,
    session_cookie,
)
from parley.kit.errors import AppError, RateLimitedError, UnauthenticatedError

_PAGE_HEADERS_EXTRA = {"Cache-Control": "no-store"}


def build_inbox_router(templates: Jinja2Templates, asset_version: str, headers: dict[str, str]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    page_headers = {**headers, **_PAGE_HEADERS_EXTRA}

    def render(request: Request, template: str, title: str, status: int = 200, **context: Any) -> Response:
        values = {"title": title, "asset_version": asset_version, **context}
        return templates.TemplateResponse(request, template, values, status_code=status, headers=page_headers)

    async def signed_in(request: Request, container: Any) -> AgentContext | None:
        try:
            ctx: AgentContext = await container.inbox.session(request.cookies.get(SESSION_COOKIE))
        except UnauthenticatedError:
            return None
        return ctx

    def secure(request: Request) -> bool:
        return request.url.scheme == "https"

    def login_form(request: Request, status: int = 200, error: AppError | None = None, email: str = "") -> Response:
        """The sign-in page with its CSRF token (the browser's own, kept across tabs); a script asking for JSON
        gets a refusal in the inbox API's error shape instead."""
        headers = {"Retry-After": str(error.retry_after_s)} if isinstance(error, RateLimitedError) else {}
        if error is not None and "application/json" in request.headers.get("accept", ""):
            return JSONResponse(error.to_client_body(), status_code=status, headers=headers)
        token = request.cookies.get(LOGIN_FORM_COOKIE) or new_login_form_token()
        message = None if error is None else error.message
        page = render(
            request, "inbox_login.html", "Sign in · Parley inbox", status, error=message, email=email, csrf_token=token
        )
        page.headers.update(headers)
        login_form_cookie(page, token, secure(request))
        return page

    @router.get("/inbox/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> Response:
        return login_form(request)

    @router.post("/inbox/login", response_class=HTMLResponse)
    async def login(
        request: Request,
        container: ContainerDep,
        email: Annotated[str, Form(max_length=254)] = "",
        password: Annotated[str, Form(max_length=256)] = "",
        csrf_token: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        if not same_token(csrf_token, request.cookies.get(LOGIN_FORM_COOKIE, "")):
            # Login CSRF: another site's page must not sign this browser into an account of its choosing.
            expired = CsrfError("This sign-in form expired or did not come from this site. Please sign in again.")
            return login_form(request, 403, expired, email)
        if not email or not password:
            return login_form(request, 400, UnauthenticatedError("Enter your email and password."), email)
        try:
            signed = await container.inbox.sign_in(email, password, client_address(request))
        except RateLimitedError as exc:
            return login_form(request, 429, exc, email)
        except UnauthenticatedError as exc:
            return login_form(request, 400, exc, email)
        response = RedirectResponse("/inbox", status_code=303)
        session_cookie(response, signed.token, secure(request))
        forget_login_form_cookie(response)
        return response

    @router.post("/inbox/logout")
    async def logout(request: Request, container: ContainerDep) -> Response:
        """Needs the page's CSRF token (another site cannot sign an agent out) and ends the session on the server,
        so a copy of the cookie is worth nothing afterwards."""
        ctx = await signed_in(request, container)
        if ctx is not None:
            given = (await request.form()).get("csrf_token")
            if not isinstance(given, str) or not same_token(given, ctx.csrf_token):
                refused = CsrfError("missing or wrong csrf_token: sign out from the inbox page")
                return JSONResponse(refused.to_client_body(), status_code=refused.status)
            await container.inbox.sign_out(ctx)
        response = RedirectResponse("/inbox/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/inbox")
        return response

    @router.get("/inbox", response_class=HTMLResponse)
    async def inbox_page(request: Request, container: ContainerDep) -> Response:
        ctx = await signed_in(request, container)
        if ctx is None:
            return RedirectResponse("/inbox/login", status_code=303)
        page = render(request, "inbox.html", "Inbox · Parley", csrf_token=ctx.csrf_token)
        session_cookie(page, request.cookies[SESSION_COOKIE], secure(request))  # the browser keeps it as long
        return page

    @router.get("/inbox/invite/{token}", response_class=HTMLResponse)
    async def invite_page(token: str, request: Request, container: ContainerDep) -> Response:
        try:
            agent = await container.inbox.invitation(token)
        except AppError as exc:
            return render(
                request, "inbox_invite.html", "Invitation · Parley inbox", 404, error=exc.message, name="", email=""
            )
        return render(
            request,
            "inbox_invite.html",
            "Invitation · Parley inbox",
            error=None,
            name=agent["name"],
            email=agent["email"],
        )

    @router.post("/inbox/invite/{token}", response_class=HTMLResponse)
    async def accept_invite(
        token: str,
        request: Request,
        container: ContainerDep,
        password: Annotated[str, Form(max_length=256)] = "",
        password_confirm: Annotated[str, Form(max_length=256)] = "",
    ) -> Response:
        try:
            agent = await container.inbox.invitation(token)
        except AppError as exc:
            return render(
                request, "inbox_invite.html", "Invitation · Parley inbox", 404, error=exc.message, name="", email=""
            )
        error = None
        if password != password_confirm:
            error = "The two passwords differ."
        else:
            try:
                signed = await container.inbox.accept_invite(token, password)
            except AppError as exc:
                error = exc.message
        if error is not None:
            return render(
                request,
                "inbox_invite.html",
                "Invitation · Parley inbox",
                400,
                error=error,
                name=agent["name"],
                email=agent["email"],
            )
        response = RedirectResponse("/inbox", status_code=303)
        session_cookie(response, signed.token, secure(request))
        return response

    return router
