import os

from flask import Flask

from keygate import Verifier
from keygate.flask import Keygate, current_identity

KEYGATE_URL = os.environ.get("KEYGATE_URL", "http://127.0.0.1:8080")
keygate = Keygate(Verifier(KEYGATE_URL, workspace="acme"))
app = Flask(__name__)


@app.get("/devices/<id>")
@keygate.require("devices:read", resource="device:{id}")
def show(id: str) -> dict[str, str]:
    caller = current_identity()
    return {"device": id, "hello": caller.user.display_name if caller.user else "anonymous"}
