"""The team inbox's pages: sign-in, invitation, sign-out and the app shell (its data flows through /inbox/api)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from parley.http import ContainerDep
from parley.inbox import SESSION_COOKIE, AgentContext, session_cookie
from parley.kit.errors import AppError, UnauthenticatedError

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

    @router.get("/inbox/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> Response:
        return render(request, "inbox_login.html", "Sign in · Parley inbox", error=None, email="")

    @router.post("/inbox/login", response_class=HTMLResponse)
    async def login(
        request: Request,
        container: ContainerDep,
        email: Annotated[str, Form(max_length=254)] = "",
        password: Annotated[str, Form(max_length=256)] = "",
    ) -> Response:
        if not email or not password:
            return render(
                request,
                "inbox_login.html",
                "Sign in · Parley inbox",
                400,
                error="Enter your email and password.",
                email=email,
            )
        try:
            signed = await container.inbox.sign_in(email, password)
        except UnauthenticatedError as exc:
            return render(request, "inbox_login.html", "Sign in · Parley inbox", 400, error=exc.message, email=email)
        response = RedirectResponse("/inbox", status_code=303)
        session_cookie(response, signed.token, secure(request))
        return response

    @router.post("/inbox/logout")
    async def logout(request: Request, container: ContainerDep) -> Response:
        ctx = await signed_in(request, container)
        form = await request.form()
        if ctx is not None and form.get("csrf_token") == ctx.csrf_token:
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
