"""A real browser over HTTP/2: Debian's chromium, headless, over TLS with a throwaway CA.

chromium loads a page and its assets (a stylesheet, a script, an image),
which must all come over ``h2`` (``performance.getEntries()``'s
``nextHopProtocol``), and the page's script opens a WebSocket to the same
TLS port, which chromium makes over HTTP/1.1 on a connection of its own
(the server does not offer RFC 8441's extended CONNECT). chromium trusts
the test CA's certificate by its public key's hash
(``--ignore-certificate-errors-spki-list``). Skips, saying which is
missing, without chromium and chromium-driver (``scripts/test.sh``
installs both as root).
"""

from __future__ import annotations

import base64
import hashlib
import ssl
import tempfile

import trio
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from actorhttp import Application, Request, Response, WebSocketResponse
from actorhttp.messages import Handler
from actorhttp.testing import serve_app

from .test_chat_example import CHROMIUM_FLAGS, browser  # noqa: F401  (a fixture)

PAGE = """<!doctype html>
<html><head><title>h2</title><link rel="stylesheet" href="/style.css">
<script src="/app.js"></script></head>
<body><img src="/dot.svg"><p id="ws">waiting</p></body></html>
"""
SCRIPT = """
window.addEventListener("load", () => {
  const ws = new WebSocket(`wss://${location.host}/ws`);
  ws.onopen = () => ws.send("over http/1.1");
  ws.onmessage = (event) => { document.getElementById("ws").textContent = event.data; };
  ws.onerror = () => { document.getElementById("ws").textContent = "error"; };
});
"""
DOT = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'


def page_app(versions: list[str]) -> Application:
    def serve(body: str, content_type: str) -> Handler:
        async def handler(request: Request) -> Response:
            versions.append(f"{request.version.major}.{request.version.minor}")
            return Response(text=body, content_type=content_type)

        return handler

    async def echo(request: Request) -> WebSocketResponse:
        ws = WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            version = f"{request.version.major}.{request.version.minor}"
            await ws.send_str(f"echo {message.data} (HTTP/{version})")
        return ws

    app = Application()
    app.router.add_get("/", serve(PAGE, "text/html"))
    app.router.add_get("/style.css", serve("p { color: green }", "text/css"))
    app.router.add_get("/app.js", serve(SCRIPT, "text/javascript"))
    app.router.add_get("/dot.svg", serve(DOT, "image/svg+xml"))
    app.router.add_get("/ws", echo)
    return app


def spki_hash(pem: bytes) -> str:
    """What chromium's ``--ignore-certificate-errors-spki-list`` takes: base64(sha256(SPKI))."""
    key = x509.load_pem_x509_certificate(pem).public_key()
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def load_page(url: str, spki: str, chromium: str, chromedriver: str) -> tuple[dict[str, str], str]:
    """Each resource's path and protocol as chromium reports them (a /favicon.ico may be
    among them), and the WebSocket's answer."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with tempfile.TemporaryDirectory() as profile:
        options = Options()
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--ignore-certificate-errors-spki-list={spki}")
        options.binary_location = chromium
        driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
        try:
            driver.get(f"{url}/")
            WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "ws").text != "waiting")
            entries: list[list[str]] = driver.execute_script(
                "return performance.getEntries()"
                ".filter(e => e.nextHopProtocol !== undefined)"
                ".map(e => [new URL(e.name).pathname, e.nextHopProtocol])"
            )
            protocols = {entry[0]: entry[1] for entry in entries}
            return protocols, driver.find_element(By.ID, "ws").text
        finally:
            driver.quit()


async def test_chromium_loads_a_page_and_its_assets_over_h2(
    browser: tuple[str, str],  # noqa: F811
) -> None:
    chromium, chromedriver = browser
    issued = trustme.CA().issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    issued.configure_cert(context)
    context.set_alpn_protocols(["h2", "http/1.1"])
    versions: list[str] = []
    with trio.fail_after(120):
        async with serve_app(page_app(versions), ssl_context=context) as served:
            protocols, ws = await trio.to_thread.run_sync(
                load_page,
                served.server.url,
                spki_hash(issued.cert_chain_pems[0].bytes()),
                chromium,
                chromedriver,
                abandon_on_cancel=True,
            )
    assert {path: protocols.get(path) for path in ("/", "/style.css", "/app.js", "/dot.svg")} == {
        "/": "h2",
        "/style.css": "h2",
        "/app.js": "h2",
        "/dot.svg": "h2",
    }
    assert set(protocols.values()) == {"h2"}
    assert versions == ["2.0"] * 4
    assert ws == "echo over http/1.1 (HTTP/1.1)"
