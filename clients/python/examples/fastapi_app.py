import os

from fastapi import Depends, FastAPI

from keygate import AsyncVerifier, Identity
from keygate.fastapi import Keygate

KEYGATE_URL = os.environ.get("KEYGATE_URL", "http://127.0.0.1:8080")
keygate = Keygate(AsyncVerifier(KEYGATE_URL, workspace="acme"))
app = FastAPI()
keygate.install(app)  # refusals answer as Keygate's own do


@app.get("/devices/{id}")
async def show(
    id: str, caller: Identity = Depends(keygate.require("devices:read", resource="device:{id}"))
) -> dict[str, str]:
    return {"device": id, "hello": caller.user.display_name if caller.user else "anonymous"}
