"""A response's cookies (``set_cookie``, ``del_cookie``), as aiohttp's: a part of StreamResponse.

The cookies are an ``http.cookies.SimpleCookie`` until the response is
sent; then their ``Set-Cookie`` lines are snapshotted, so a change after
that cannot reach the wire. A CR, LF or NUL in any attribute is a
``ValueError``: it could split the response.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

__all__ = ["ResponseCookies"]

_UNSAFE = re.compile(r"[\r\n\x00]")


def _check_cookie(name: str, line: str) -> None:
    if _UNSAFE.search(line):
        raise ValueError(f"cookie {name!r} has a CR, LF or NUL in {line!r}")


class ResponseCookies:
    """The cookie half of a response; the response supplies ``_check_not_sent``."""

    # Class-level defaults, as StreamResponse's: most responses set no cookie.
    _cookies: SimpleCookie | None = None
    _partitioned: frozenset[str] | set[str] = frozenset()  # no Partitioned in http.cookies < 3.14
    _wire_cookies: tuple[str, ...] = ()

    def _check_not_sent(self, what: str) -> None:
        raise NotImplementedError  # StreamResponse's

    @property
    def cookies(self) -> SimpleCookie:
        """The cookies to send (``set_cookie``, ``del_cookie``); snapshotted when sent."""
        if self._cookies is None:
            self._cookies = SimpleCookie()
        return self._cookies

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        expires: str | None = None,
        domain: str | None = None,
        max_age: int | str | None = None,
        path: str = "/",
        secure: bool | None = None,
        httponly: bool | None = None,
        version: str | None = None,
        samesite: str | None = None,
        partitioned: bool | None = None,
    ) -> None:
        """Set or update a cookie (aiohttp's semantics: ``None`` leaves an attribute alone).

        ``ValueError`` for an attribute with CR, LF or NUL: it could split the response.
        """
        self._check_not_sent("cookies")
        for attribute in (expires, domain, max_age, path, version, samesite):
            if isinstance(attribute, str):
                _check_cookie(name, attribute)
        cookies = self.cookies
        cookies[name] = value
        morsel = cookies[name]
        if expires is not None:
            morsel["expires"] = expires
        elif morsel.get("expires") == "Thu, 01 Jan 1970 00:00:00 GMT":
            del morsel["expires"]
        if domain is not None:
            morsel["domain"] = domain
        if max_age is not None:
            morsel["max-age"] = str(max_age)
        elif "max-age" in morsel:
            del morsel["max-age"]
        morsel["path"] = path
        if secure is not None:
            morsel["secure"] = secure
        if httponly is not None:
            morsel["httponly"] = httponly
        if version is not None:
            morsel["version"] = version
        if samesite is not None:
            morsel["samesite"] = samesite
        if partitioned:
            self._partitioned = {*self._partitioned, name}
        elif partitioned is not None:
            self._partitioned = set(self._partitioned) - {name}

    def del_cookie(
        self,
        name: str,
        *,
        domain: str | None = None,
        path: str = "/",
        secure: bool | None = None,
        httponly: bool | None = None,
        samesite: str | None = None,
    ) -> None:
        """Tell the client to drop a cookie: an empty one, expired."""
        self._check_not_sent("cookies")
        if self._cookies is not None:
            self._cookies.pop(name, None)
        self._partitioned = set(self._partitioned) - {name}
        self.set_cookie(
            name,
            "",
            max_age=0,
            expires="Thu, 01 Jan 1970 00:00:00 GMT",
            domain=domain,
            path=path,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
        )

    def _snapshot_cookies(self) -> None:
        """The ``Set-Cookie`` lines as sent (``_wire_cookies``), checked once more.

        ``ValueError`` for a CR, LF or NUL: a morsel changed through
        ``cookies`` skipped ``set_cookie``'s check.
        """
        cookies = self.cookies
        lines = tuple(
            m.OutputString() + ("; Partitioned" if key in self._partitioned else "")
            for key, m in cookies.items()
        )
        for key, line in zip(cookies, lines, strict=True):
            _check_cookie(key, line)
        self._wire_cookies = lines
