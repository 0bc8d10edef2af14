"""The business console: WhatsApp Manager in the browser, for a business's owners and admins.

Pages live under `/inbox/console/…` (rendered by `parley.web.console_pages`), their data under
`/inbox/api/console/…` (the routers here). Both sit behind the inbox's session cookie; writes carry its
CSRF header; agents see none of it. Everything shown comes from the same services as the Cloud API.
"""

from __future__ import annotations

from fastapi import APIRouter

from parley.console import (
    ads,  # ads
    affiliates,  # affiliates
    analytics,
    billing,
    developers,
    numbers,
    overview,
    payments,
    templates,
)
from parley.console.access import ConsoleDep, require_console_access
from parley.console.ads_insights import router as ads_insights_router  # ads-attrib

# Each area of the console adds its JSON router here; app.py includes them all.
routers: list[APIRouter] = []
routers += [overview.router, numbers.router, templates.router, billing.router, developers.router, analytics.router]
routers += [payments.router]
routers += [ads.router]  # ads
routers += [ads_insights_router]  # ads-attrib
routers += [affiliates.router]  # affiliates

__all__ = ["ConsoleDep", "require_console_access", "routers"]
