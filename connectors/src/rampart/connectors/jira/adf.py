"""Plain text as an Atlassian Document Format document, the rich text REST API v3 takes.

Blank lines separate paragraphs; a line break inside a paragraph is a ``hardBreak``. Text is
never read as markup (ADF has none: formatting is marks, and none are added), and ADF allows
no empty text node, so empty lines and paragraphs are left out.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["document"]

_PARAGRAPHS = re.compile(r"\n[ \t]*\n+")


def _paragraph(text: str) -> dict[str, Any]:
    inline: list[dict[str, Any]] = []
    for line in text.split("\n"):
        if not line:
            continue
        if inline:
            inline.append({"type": "hardBreak"})
        inline.append({"type": "text", "text": line})
    return {"type": "paragraph", "content": inline}


def document(text: str) -> dict[str, Any]:
    """``text`` as an ADF ``doc`` of paragraphs."""
    normal = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p.strip("\n") for p in _PARAGRAPHS.split(normal)]
    return {
        "type": "doc",
        "version": 1,
        "content": [_paragraph(p) for p in paragraphs if p.strip()],
    }
