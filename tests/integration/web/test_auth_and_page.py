"""Authentication of the API, the error format, the admin page, and serving on a port."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from b2bua.web import start_web

from .conftest import TOKEN, Api, OfficeControl

API_READS = [
    "/api/calls", "/api/live-calls", "/api/blacklist", "/api/contact-groups", "/api/managers",
    "/api/sms", "/api/employees", "/api/registrations", "/api/settings", "/api/keys",
    "/api/key-options", "/api/settings/transfer",
]


@pytest.mark.parametrize("path", API_READS)
async def test_every_api_route_refuses_a_missing_token(
    client: TestClient[Any, Any], path: str
) -> None:
    response = await client.get(path)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in (await response.json())["error"]


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        "Bearer ",
        f"Basic {TOKEN}",
        TOKEN,
        f"Bearer {TOKEN.upper()}",
    ],
)
async def test_a_wrong_token_is_refused(client: TestClient[Any, Any], header: str) -> None:
    response = await client.get("/api/keys", headers={"Authorization": header})
    assert response.status == 401
    assert response.content_type == "application/json"


async def test_the_right_token_opens_the_api_whatever_the_scheme_case(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/api/keys", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status == 200
    assert (await response.json())["1"] == {"option": "tag", "tag": "important", "feedback": True}


async def test_unknown_api_routes_answer_401_without_token_and_404_with_it(
    client: TestClient[Any, Any], api: Api
) -> None:
    assert (await client.get("/api/nothing-here")).status == 401
    body = await api.json("GET", "/api/nothing-here", status=404)
    assert body["error"] == "no such route: /api/nothing-here"


async def test_a_wrong_method_answers_405_with_allow(api: Api) -> None:
    response = await api.request("PUT", "/api/calls")
    assert response.status == 405
    assert "GET" in response.headers["Allow"]
    assert "PUT is not allowed on /api/calls" in (await response.json())["error"]


async def test_the_admin_page_is_served_without_token_with_the_key_editor(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert 'id="keys-table"' in page and 'id="keys-body"' in page
    assert "In-call options" in page
    assert "/api/keys" in page and "/api/settings/transfer" in page
    assert "localStorage" in page
    # nothing is loaded from elsewhere
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


async def test_the_page_policy_allows_exactly_its_inline_script_and_style(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/")
    page = await response.text()
    policy = response.headers["Content-Security-Policy"]
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    for source, directive in ((script, "script-src"), (style, "style-src")):
        digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy
    assert page.count("<script>") == 1  # one inline script, no other script element


async def test_start_web_serves_on_a_free_port_and_close_stops_it(
    control: OfficeControl,
) -> None:
    handle = await start_web(control, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{handle.port}"
    try:
        assert handle.port > 0
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(headers=headers) as session, \
                session.get(url + "/api/keys") as response:
            assert response.status == 200
            assert "1" in await response.json()
    finally:
        await handle.close()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(url + "/")
