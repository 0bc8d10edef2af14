"""Who may use the console: a signed-in owner or admin of the business (agents get 403)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from parley.inbox.endpoints import AgentDep
from parley.inbox.service import AgentContext
from parley.kit.errors import ForbiddenError


def require_console_access(ctx: AgentContext) -> AgentContext:
    if not ctx.is_admin:
        raise ForbiddenError("the business console is for the business's owners and admins")
    return ctx


async def _console_context(ctx: AgentDep) -> AgentContext:
    return require_console_access(ctx)


ConsoleDep = Annotated[AgentContext, Depends(_console_context)]
