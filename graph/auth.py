"""Bearer-token authentication for the LangGraph API server (``auth`` in langgraph.json).

With ``TED_API_TOKEN`` set where the server runs, every request must carry
``Authorization: Bearer <token>``; anything else is refused with 401. Without a token, the server
answers requests from this machine only (loopback clients, such as `langgraph dev` with Studio in the
local browser) and refuses the rest with 403, so a server that is exposed by mistake is not open.

Every client that holds the token is the same user: threads and runs are shared among them. Behind a
reverse proxy, every request comes from the proxy's address: set a token.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from typing import Any

from langgraph_sdk import Auth

TOKEN_VARIABLE = "TED_API_TOKEN"

auth = Auth()


def _is_loopback(scope: dict[str, Any]) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(str(client[0])).is_loopback
    except ValueError:
        return False


@auth.authenticate
async def authenticate(authorization: str | None, scope: dict[str, Any]) -> Auth.types.MinimalUserDict:
    """Let a request in with the deployment's token, or from this machine when there is no token.

    Raises:
        Auth.exceptions.HTTPException: 401 for a missing or wrong token; 403 for a remote client of a
            server that has no token.
    """
    token = os.environ.get(TOKEN_VARIABLE, "")
    if not token:
        if _is_loopback(scope):
            return {"identity": "local"}
        raise Auth.exceptions.HTTPException(
            status_code=403,
            detail=f"this server has no API token ({TOKEN_VARIABLE}), so it answers only requests from "
            "its own machine",
        )
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise Auth.exceptions.HTTPException(
            status_code=401, detail="missing API token: send the header 'Authorization: Bearer <token>'"
        )
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Auth.exceptions.HTTPException(status_code=401, detail="wrong API token")
    return {"identity": "token"}
