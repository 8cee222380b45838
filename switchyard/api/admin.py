"""The management API: API keys and projects, answered in OpenAI's error shape.

    POST   /admin/keys            create; the answer carries the key ("key"), shown this once
    GET    /admin/keys            list (an admin: every key; a key with can_create_keys: its own)
    GET    /admin/keys/{id}       one key
    PATCH  /admin/keys/{id}       update name, limits, allowed_models, tags, expires_at, ...
    DELETE /admin/keys/{id}       revoke (with the sub-keys created under a non-admin key)
    POST   /admin/projects        create or replace a project's limits (admins only)
    GET    /admin/projects        list projects;  GET /admin/projects/{name}: one

Authorised by the admin key, an ``is_admin`` API key, an OIDC token with the admin claim, or (for
keys only, within its own scope; see accounts.policy) an API key with ``can_create_keys``.
No answer ever contains a key's hash or a provider key.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import msgspec

from switchyard.accounts.inputs import KeyCreate, KeyPatch, ProjectIn
from switchyard.accounts.service import Accounts, Actor
from switchyard.errors import ErrorCategory, GatewayError, RequestError
from switchyard.http import Request, Response
from switchyard.protocols.openai_chat.errors import render_error

log = logging.getLogger("switchyard.accounts.admin")

Handler = Callable[[Request], Awaitable[Response]]
KEYS, PROJECTS = "/admin/keys", "/admin/projects"


def _json(status: int, body: Any) -> Response:
    return Response(status, msgspec.json.encode(body))


def _list(items: list[dict[str, Any]]) -> Response:
    return _json(200, {"object": "list", "data": items})


def _body(request: Request, kind: type[Any]) -> Any:
    if not request.body:
        raise RequestError("The request body must be a JSON object.")
    try:
        return msgspec.json.decode(request.body, type=kind)
    except msgspec.ValidationError as e:  # names the field, never echoes the value
        raise RequestError(f"Invalid request body: {e}", code="invalid_body") from None
    except msgspec.DecodeError:
        raise RequestError("The request body is not valid JSON.", code="invalid_json") from None


class AdminAPI:
    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts
        keys, projects = self._guard(self.keys), self._guard(self.projects)
        self._routes: dict[tuple[str, str], Handler] = {
            ("POST", KEYS): keys, ("GET", KEYS): keys, ("POST", PROJECTS): projects, ("GET", PROJECTS): projects}
        self._prefixes: dict[str, Handler] = {KEYS + "/": self._guard(self.key),
                                              PROJECTS + "/": self._guard(self.project)}

    async def _actor(self, request: Request) -> Actor:
        principal = await self.accounts.authenticator.authenticate_admin(request.headers)
        return await self.accounts.actor_for(principal)

    def _guard(self, fn: Callable[[Request], Awaitable[Response]]) -> Handler:
        async def handler(request: Request) -> Response:
            try:
                return await fn(request)
            except GatewayError as err:
                return Response(err.status, render_error(err))
            except Exception as e:  # noqa: BLE001 - never a traceback (or a value in it) to the caller
                log.error("admin API %s %s failed: %s", request.method, request.path, type(e).__name__)
                return Response(500, render_error(GatewayError(ErrorCategory.SERVER_ERROR, "Internal error.",
                                                               status=500)))
        return handler

    # ---- keys ----

    async def keys(self, request: Request) -> Response:
        actor = await self._actor(request)
        if request.method == "POST":
            rec, secret = await self.accounts.create_key(actor, _body(request, KeyCreate))
            return _json(201, {**rec.public(), "key": secret})
        if request.method == "GET":
            return _list([r.public() for r in await self.accounts.list_keys(actor)])
        raise _method(request)

    async def key(self, request: Request) -> Response:
        key_id = unquote(request.path[len(KEYS) + 1:])
        actor = await self._actor(request)
        if request.method == "GET":
            return _json(200, (await self.accounts.get_key(actor, key_id)).public())
        if request.method == "PATCH":
            rec = await self.accounts.update_key(actor, key_id, _body(request, KeyPatch))
            return _json(200, rec.public())
        if request.method == "DELETE":
            rec, revoked = await self.accounts.revoke_key(actor, key_id)
            return _json(200, {**rec.public(), "revoked_ids": revoked})
        raise _method(request)

    # ---- projects ----

    async def projects(self, request: Request) -> Response:
        actor = await self._actor(request)
        if request.method == "POST":
            return _json(200, (await self.accounts.put_project(actor, _body(request, ProjectIn))).public())
        if request.method == "GET":
            return _list([p.public() for p in await self.accounts.list_projects(actor)])
        raise _method(request)

    async def project(self, request: Request) -> Response:
        name = unquote(request.path[len(PROJECTS) + 1:])
        actor = await self._actor(request)
        if request.method != "GET":
            raise _method(request)
        found = [p for p in await self.accounts.list_projects(actor) if p.name == name]
        if not found:
            raise RequestError(f"No project named '{name}'.", param="name", status=404,
                               category=ErrorCategory.NOT_FOUND, code="project_not_found")
        return _json(200, found[0].public())

    # ---- routing ----

    def routes(self) -> dict[tuple[str, str], Handler]:
        return dict(self._routes)

    def prefix_routes(self) -> dict[str, Handler]:
        """Paths with an id: ``{prefix: handler}``; the handler dispatches on the method."""
        return dict(self._prefixes)

    async def handle(self, request: Request) -> Response | None:
        """Every admin path in one call; None when the path is not ours."""
        handler = self._routes.get((request.method, request.path))
        if handler is None:
            for prefix, h in self._prefixes.items():
                if request.path.startswith(prefix) and len(request.path) > len(prefix):
                    handler = h
                    break
        return None if handler is None else await handler(request)


def _method(request: Request) -> GatewayError:
    return RequestError(f"Method {request.method} is not allowed on {request.path}.", status=405)


def routes(app_or_services: Any) -> dict[tuple[str, str], Handler]:
    """Exact-path routes to merge into App._routes; ``app_or_services`` is an Accounts, an AdminAPI,
    or anything with an ``accounts`` attribute (the App). Id paths: ``AdminAPI.prefix_routes()``."""
    return admin_api(app_or_services).routes()


def admin_api(app_or_services: Any) -> AdminAPI:
    if isinstance(app_or_services, AdminAPI):
        return app_or_services
    if isinstance(app_or_services, Accounts):
        return AdminAPI(app_or_services)
    return AdminAPI(app_or_services.accounts)
