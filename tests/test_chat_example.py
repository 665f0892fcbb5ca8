"""examples/chat.py, run as a script: three ``websockets`` clients, and a real browser.

The browser test drives Debian's ``chromium`` headless with selenium and
``chromium-driver``; ``scripts/test.sh`` installs both with apt-get when it
can (as root), and the test skips, saying which is missing, when they are not
there.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import trio
from websockets.asyncio.client import ClientConnection, connect

from actorhttp.messages import TransportName

from .test_examples import Running, example, script

TIMEOUT = 30
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@asynccontextmanager
async def chat(transport: TransportName, *, interrupt: bool = True) -> AsyncIterator[Running]:
    """The example running; interrupted on exit (unless the test did it), it must stop cleanly."""
    async with example(*script("chat"), "--transport", transport) as run:
        yield run
        if interrupt:
            run.process.send_signal(signal.SIGINT)
        code = await run.finish()
        assert code == 0, run.output
        assert run.output.rstrip().endswith(b"stopped")


async def test_page_is_served_and_ctrl_c_stops_with_clients_connected(
    transport: TransportName,
) -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            chat(transport, interrupt=False) as run,
            httpx.AsyncClient(base_url=run.url) as http,
        ):
            page = await http.get("/")
            plain = await http.get("/ws")
            going_away = await trio.to_thread.run_sync(stay_until_stopped, run)
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "new WebSocket(" in page.text
    assert plain.status_code == 400
    # 1001 either way: the room's goodbye, or the server's own if the stop overtakes it.
    assert going_away in ((1001, "the server is stopping"), (1001, "server shutdown"))


def stay_until_stopped(run: Running) -> tuple[int | None, str | None]:
    """A client that is still connected when the server is told to stop."""

    async def main() -> tuple[int | None, str | None]:
        async with connect(ws_url(run, "dave")) as dave:
            assert await dave.recv() == "* welcome, dave (here: dave)"
            run.process.send_signal(signal.SIGINT)
            await dave.wait_closed()
            assert dave.close_code is not None
            return dave.close_code, dave.close_reason

    return asyncio.run(asyncio.wait_for(main(), TIMEOUT))


def ws_url(run: Running, name: str) -> str:
    return run.url.replace("http://", "ws://") + f"/ws?name={name}"


def three_clients(run: Running) -> dict[str, list[str]]:
    """alice, bob and carol talk; carol leaves; what each one heard, in order."""
    heard: dict[str, list[str]] = {"alice": [], "bob": [], "carol": []}

    async def hear(name: str, client: ClientConnection, count: int) -> None:
        for _ in range(count):
            message = await client.recv()
            assert isinstance(message, str)
            heard[name].append(message)

    async def main() -> None:
        async with connect(ws_url(run, "alice")) as alice:
            await hear("alice", alice, 1)
            async with connect(ws_url(run, "bob")) as bob:
                await hear("bob", bob, 1)
                await hear("alice", alice, 1)  # bob joined
                async with connect(ws_url(run, "carol")) as carol:
                    await hear("carol", carol, 1)
                    await asyncio.gather(hear("alice", alice, 1), hear("bob", bob, 1))
                    for speaker, client in (("alice", alice), ("bob", bob), ("carol", carol)):
                        await client.send(f"hello from {speaker}")
                        listeners = [(n, c) for n, c in (("alice", alice), ("bob", bob),
                                     ("carol", carol)) if n != speaker]  # fmt: skip
                        await asyncio.gather(*(hear(n, c, 1) for n, c in listeners))
                await asyncio.gather(hear("alice", alice, 1), hear("bob", bob, 1))  # carol left

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    return heard


async def test_three_clients_every_message_reaches_the_others(transport: TransportName) -> None:
    with trio.fail_after(TIMEOUT):
        async with chat(transport) as run:
            heard = await trio.to_thread.run_sync(three_clients, run)
    assert heard == {
        "alice": [
            "* welcome, alice (here: alice)",
            "* bob joined",
            "* carol joined",
            "bob: hello from bob",
            "carol: hello from carol",
            "* carol left",
        ],
        "bob": [
            "* welcome, bob (here: alice, bob)",
            "* carol joined",
            "alice: hello from alice",
            "carol: hello from carol",
            "* carol left",
        ],
        "carol": [
            "* welcome, carol (here: alice, bob, carol)",
            "alice: hello from alice",
            "bob: hello from bob",
        ],
    }


@pytest.fixture
def browser() -> tuple[str, str]:
    """chromium's and chromedriver's paths, or a skip saying which is missing.

    A sync fixture: a skip raised inside a trio test loses its reason in the report.
    """
    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if chromium is None:
        pytest.skip("chromium is not installed (scripts/test.sh installs it with apt-get as root)")
    if driver is None:
        pytest.skip(
            "chromedriver is not installed: apt-get install chromium-driver "
            "(scripts/test.sh installs it as root)"
        )
    return chromium, driver


def two_windows(run: Running, chromium: str, chromedriver: str) -> list[str]:
    """alice and bob in two windows of one browser; each says something; bob's log."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    def wait_for_line(driver: WebDriver, line: str) -> None:
        def has_line(d: WebDriver) -> bool:
            return line in [item.text for item in d.find_elements(By.CSS_SELECTOR, "#log li")]

        WebDriverWait(driver, 10).until(has_line)

    def say(driver: WebDriver, text: str) -> None:
        driver.find_element(By.ID, "text").send_keys(text)
        driver.find_element(By.ID, "send").click()

    with tempfile.TemporaryDirectory() as profile:
        options = Options()
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.binary_location = chromium
        driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
        try:
            driver.get(f"{run.url}/?name=alice")
            WebDriverWait(driver, 10).until(
                lambda d: d.find_element(By.ID, "status").text == "connected"
            )
            alice = driver.current_window_handle
            driver.switch_to.new_window("window")
            driver.get(f"{run.url}/?name=bob")
            wait_for_line(driver, "* welcome, bob (here: alice, bob)")
            WebDriverWait(driver, 10).until(
                lambda d: d.find_element(By.ID, "members").text == "alice, bob"
            )
            bob = driver.current_window_handle
            driver.switch_to.window(alice)
            wait_for_line(driver, "* bob joined")
            say(driver, "hello bob, from a browser")
            driver.switch_to.window(bob)
            wait_for_line(driver, "alice: hello bob, from a browser")
            say(driver, "hi alice")
            driver.switch_to.window(alice)
            wait_for_line(driver, "bob: hi alice")
            driver.switch_to.window(bob)
            return [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#log li")]
        finally:
            driver.quit()


async def test_two_browser_windows_exchange_messages(
    transport: TransportName, browser: tuple[str, str]
) -> None:
    chromium, chromedriver = browser
    with trio.fail_after(90):
        async with chat(transport) as run:
            bobs_log = await trio.to_thread.run_sync(
                two_windows, run, chromium, chromedriver, abandon_on_cancel=True
            )
    assert bobs_log == ["* welcome, bob (here: alice, bob)", "alice: hello bob, from a browser"]
