"""Markdown as a CommonMark renderer with GitHub tables sees it (markdown-it-py, the parser behind
rich): the tables of an MLflow description and its links, importable from any test."""

from __future__ import annotations

from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark").enable("table")


def _text(inline) -> str:
    text = "".join(child.content for child in inline.children or [] if child.type in ("text", "code_inline"))
    return text.replace("\u00a0", " ").strip()


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table: its rows (the header row first), each a list of cell texts (link texts included,
    markup dropped, no-break spaces read as spaces, surrounding whitespace stripped)."""
    found: list[list[list[str]]] = []
    cell = False
    for token in _MD.parse(markdown):
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            found[-1].append([])
        elif token.type in ("th_open", "td_open"):
            cell = True
        elif token.type == "inline" and cell:
            found[-1][-1].append(_text(token))
            cell = False
    return found


def links(markdown: str) -> list[tuple[str, str]]:
    """Every link as (text with no-break spaces read as spaces, href)."""
    out: list[tuple[str, str]] = []
    for token in _MD.parse(markdown):
        text, href = "", None
        for child in token.children or []:
            if child.type == "link_open":
                text, href = "", str(child.attrs["href"])
            elif child.type == "link_close" and href is not None:
                out.append((text, href))
                href = None
            elif href is not None:
                text += child.content.replace("\u00a0", " ")
    return out
