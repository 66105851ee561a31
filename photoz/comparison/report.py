"""The comparison as people read it: the comparison run's description, which is the table
(markdown, each model with the run that stands for it, linked), and comparison.html, a page that
holds the table, every figure (inline PNG) and the command that made it, which MLflow's artifact
viewer shows.

Both are built from the comparison table's headers and formatted cells (table_cells), whatever
columns it has: the digits are those of the metric registry's formats (photoz.predictions.metrics).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from photoz.comparison.table import Best, table_cells
from photoz.tracking.links import run_href
from photoz.tracking.notes import markdown_table

REPORT = "comparison.html"
ID_HEADER = "run id"


def _named(row: Best, link: str | None = None) -> str:
    """The model and the run that stands for it: `sequential (t0 d4 lr2.7e-3)`, or the run's name
    alone where it starts with the model's (`googlenet d4 lr2e-3`, `random_forest`); with `link`,
    the run's name links to its page."""
    name = row.run_name or row.model
    text = f"[{name}]({link})" if link else name
    return text if name == row.model or name.startswith(row.model + " ") else f"{row.model} ({text})"


def choice_text(every: bool) -> str:
    """Which runs the table shows, in one sentence."""
    if every:
        return "Every finished run (runs=all), by validation σ_MAD; test-split metrics."
    return ("Each model is the run with the lowest validation σ_MAD (best_val_sigma_mad) among its finished "
            "standalone runs and sweep trials, named in its row; test-split metrics.")  # fmt: skip


def description(rows: list[Best], experiment_id: str, run_id: str, every: bool, command: str) -> str:
    """The comparison run's description: the table without run ids (each model names and links its
    run instead), then which runs these are, the command, and a link to comparison.html."""
    headers, cells = table_cells(rows)
    keep = [i for i, h in enumerate(headers) if h != ID_HEADER]
    body = [[_named(r, run_href(experiment_id, r.run_id))] + [row[i] for i in keep[1:]] for r, row in zip(rows, cells)]
    report = run_href(experiment_id, run_id, f"comparison/{REPORT}")
    return (
        markdown_table([headers[i] for i in keep], body)
        + f"\n{choice_text(every)} Made by `{command}`. With the figures: [{REPORT}]({report}).\n"
    )


def _figure(name: str, path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    image = f'<img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
    return f"<figure>{image}<figcaption>{html.escape(path.name)}</figcaption></figure>"


STYLE = """body{font-family:sans-serif;margin:1em;color:#222;font-size:14px}h1{font-size:20px}
table{border-collapse:collapse;font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}
td{white-space:nowrap}th:first-child,td:first-child{text-align:left}td.id{font-family:monospace;font-size:11px;color:#555}
img{max-width:100%}figure{margin:1.5em 0}code{background:#f4f4f4;padding:2px 4px}"""


def html_report(rows: list[Best], figures: dict[str, Path], command: str, title: str, every: bool) -> str:
    """comparison.html: the title, which runs, the command, the table (run ids unwrapped), the figures."""
    headers, cells = table_cells(rows)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for r, row in zip(rows, cells):
        tds = [_named(r)] + row[1:]
        body.append("<tr>" + "".join(
            f'<td class="id">{html.escape(c)}</td>' if h == ID_HEADER else f"<td>{html.escape(c)}</td>"
            for h, c in zip(headers, tds)
        ) + "</tr>")  # fmt: skip
    return "\n".join([
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>',
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(choice_text(every))}</p>",
        f"<p>Made by <code>{html.escape(command)}</code></p>",
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>",
        *(_figure(name, path) for name, path in figures.items()),
        "</body></html>\n",
    ])  # fmt: skip


def write_report(rows: list[Best], figures: dict[str, Path], command: str, title: str, every: bool, out: Path) -> Path:
    """comparison.html in `out`."""
    path = out / REPORT
    path.write_text(html_report(rows, figures, command, title, every), encoding="utf-8")
    return path
