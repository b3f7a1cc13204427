"""The reviewer web UI, mounted at ``/ui/`` by ``install(app, services)``.

Server-rendered (Jinja2), one vendored stylesheet (``static/redline.css``), no
JavaScript required. See :mod:`redline.web.views` for the pages and their rules.
"""

from __future__ import annotations

from typing import Any

__all__ = ["install"]


def install(app: Any, services: Any) -> Any:
    """Mount the UI at ``/ui`` (and redirect ``/ui`` to ``/ui/``). Does nothing if
    ``services.oversight`` is None. Returns the ``WebUI`` or None."""
    from starlette.responses import RedirectResponse
    from starlette.routing import Route

    from redline.oversight.users import Authenticator
    from redline.web.views import WebUI

    oversight = getattr(services, "oversight", None)
    if oversight is None:
        return None
    auth = getattr(app.state, "redline_auth", None) or Authenticator(oversight.store)
    app.state.redline_auth = auth
    ui = WebUI(oversight, auth)

    async def to_ui(request: Any) -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    app.router.routes.append(Route("/ui", to_ui, methods=["GET"], include_in_schema=False))
    app.router.routes.append(ui.mount())
    app.state.redline_web = ui
    return ui
