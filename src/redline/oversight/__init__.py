"""Human oversight: durable holds, M-of-N approvals bound to the exact action.

* :class:`Oversight` (``service.py``) — holds, votes, expiry, stop switch, long-poll;
  it is ``services.holds``, the gateway's hook for ``review`` decisions.
* ``authz.py`` — Ed25519 single-use authorisations for approved tool calls.
* ``api.py`` — the JSON API; ``users.py``/``access.py`` — reviewers and sessions;
  ``quality.py`` — oversight-quality figures; ``commands.py`` — ``redline users``.

``install(app, services)`` adds the JSON routes and the oversight-quality metrics to
an app built by ``redline.api.create_app`` (does nothing if ``services.oversight``
is None, e.g. when no store is configured).
"""

from __future__ import annotations

from typing import Any

from redline.oversight.authz import AuthorizationSigner, verify_offline
from redline.oversight.held import HeldView
from redline.oversight.service import Oversight

__all__ = ["AuthorizationSigner", "HeldView", "Oversight", "install", "verify_offline"]


def install(app: Any, services: Any) -> Oversight | None:
    """Add ``/v1/holds/…`` and ``/v1/authorizations/…`` and register the oversight
    metrics on the app's registry (``redline.metrics.metrics_for``)."""
    from redline.metrics import metrics_for
    from redline.oversight.api import build_router
    from redline.oversight.quality import OversightCollector
    from redline.oversight.users import Authenticator

    oversight: Oversight | None = getattr(services, "oversight", None)
    if oversight is None:
        return None
    auth = getattr(app.state, "redline_auth", None) or Authenticator(oversight.store)
    app.state.redline_auth = auth
    app.state.redline_oversight = oversight
    resolver = getattr(getattr(app.state, "redline_gateway", None), "keys", None)
    router = build_router(oversight, auth, resolver)
    if hasattr(app, "include_router"):
        app.include_router(router)
    else:
        app.router.routes.extend(router.routes)
    if not getattr(app.state, "redline_oversight_metrics", False):
        metrics_for(app).registry.register(OversightCollector(lambda: oversight.quality))
        app.state.redline_oversight_metrics = True
    return oversight
