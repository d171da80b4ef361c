"""A middleware in front of every page of Faust's web server, Faust's own pages included.

Faust has no hook for that; its aiohttp driver's application does, until the server starts
(aiohttp freezes the list then).
"""

from __future__ import annotations

from collections.abc import Iterable

import faust
from aiohttp.typedefs import Middleware
from aiohttp.web import RouteDef
from faust.web.drivers.aiohttp import Web as AiohttpWeb


def add_middleware(app: faust.App, middleware: Middleware) -> None:
    web = app.web
    if not isinstance(web, AiohttpWeb):
        raise TypeError("the worker's HTTP layer needs Faust's aiohttp web driver")
    web.web_app.middlewares.append(middleware)


def add_routes(app: faust.App, routes: Iterable[RouteDef]) -> None:
    """Plain aiohttp routes on the app's web server (Faust's views cannot set cookies)."""
    web = app.web
    if not isinstance(web, AiohttpWeb):
        raise TypeError("the worker's HTTP layer needs Faust's aiohttp web driver")
    web.web_app.router.add_routes(routes)
