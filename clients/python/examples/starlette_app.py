import os

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from keygate import AsyncVerifier
from keygate.asgi import KeygateMiddleware, Rule, identity_of

KEYGATE_URL = os.environ.get("KEYGATE_URL", "http://127.0.0.1:8080")
verifier = AsyncVerifier(KEYGATE_URL, workspace="acme")


async def show(request: Request) -> JSONResponse:
    caller = identity_of(request.scope)
    name = caller.user.display_name if caller and caller.user else "anonymous"
    return JSONResponse({"device": request.path_params["id"], "hello": name})


rules = [Rule("GET", "/devices/{id}", "devices:read", resource="device:{id}")]
app = Starlette(
    routes=[Route("/devices/{id}", show)],
    middleware=[Middleware(KeygateMiddleware, verifier=verifier, rules=rules)],
)
