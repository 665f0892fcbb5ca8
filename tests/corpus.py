"""The invalid-request corpus in ../shared/corpus/http1-invalid, read in place."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "http1-invalid"
_ESCAPES = {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0", "\\": b"\\"}


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    rejected_as: str
    needs_size_limit_setting: bool


def decode(text: str) -> bytes:
    """A corpus file's escapes as bytes; the file's own line breaks are not part of it."""
    text = text.replace("\r", "").replace("\n", "")
    out = bytearray()
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            code = text[i + 1]
            if code == "x":
                out.append(int(text[i + 2 : i + 4], 16))
                i += 4
                continue
            if code in _ESCAPES:
                out += _ESCAPES[code]
                i += 2
                continue
        out += char.encode("latin-1")
        i += 1
    return bytes(out)


def cases() -> list[Case]:
    manifest = json.loads((CORPUS / "manifest.json").read_text())
    return [
        Case(
            name=name,
            data=decode((CORPUS / name).read_text(encoding="latin-1")),
            rejected_as=meta["rejected_as"],
            needs_size_limit_setting=meta["needs_size_limit_setting"],
        )
        for name, meta in sorted(manifest.items())
    ]
