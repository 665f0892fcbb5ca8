"""mkdocs hooks for the documentation site (mkdocs.yml's ``hooks:``).

The docstrings name other objects with Sphinx roles (``:class:`Reply```), which
Markdown renders as the role's text followed by the code. Shown without the
role they read as intended: ``Reply`` as code. A ``~`` before a dotted name
(Sphinx's "show the last part") keeps the last part only.
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:class|func|meth|data|attr|exc|mod|obj):<code>~?(?:[\w.]+\.)?")


def _strip_role(match: re.Match[str]) -> str:
    text = match.group(0)
    if "~" in text:
        return "<code>"  # ~a.b.Name: only Name, which follows
    return "<code>" + text.split("<code>", 1)[1]


def on_page_content(html: str, **kwargs: Any) -> str:
    """The page's HTML with every Sphinx role removed before its code span."""
    return ROLE.sub(_strip_role, html)
