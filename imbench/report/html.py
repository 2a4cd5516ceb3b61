"""The self-contained ``report.html``: CSS inline, every image a base64 ``data:`` URI, no reference to
anything outside the file (links are ``#`` anchors within it)."""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass

import pandas as pd

from imbench.report.completeness import Completeness
from imbench.report.frame import Sweep
from imbench.report.plots import SavedFigure
from imbench.report.provenance import ReportProvenance
from imbench.report.significance import PairedResults, RankOutcome
from imbench.report.texts import PAIRED_METHOD, POST_HOC, paired_display, rank_lines
from imbench.tables.display import best_mask, with_label_columns
from imbench.tables.header import commits_text, hardware_text
from imbench.tables.model import Table

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0;
       color: #1d1d1f; background: #fafafa; line-height: 1.45; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 1.7em; margin: 0.2em 0; } h2 { margin-top: 2em; border-bottom: 2px solid #ddd; padding-bottom: 4px; }
h3 { margin-top: 1.4em; font-size: 1.05em; }
nav a { margin-right: 14px; color: #0b5cad; text-decoration: none; } nav { margin: 8px 0 16px; }
.sub { color: #555; margin: 0; font-size: 0.92em; word-break: break-all; }
.banner { padding: 10px 14px; border-radius: 6px; margin: 14px 0; }
.ok { background: #e7f6e7; border: 1px solid #9ccf9c; }
.warn { background: #fff3e0; border: 1px solid #f0b060; }
.banner ul { margin: 6px 0 0; padding-left: 22px; font-size: 0.9em; max-height: 320px; overflow: auto; }
table { border-collapse: collapse; font-size: 0.84em; margin: 8px 0 4px; background: #fff; }
th, td { border: 1px solid #d8d8d8; padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; } td.label, th.label { text-align: left; }
td.label { white-space: normal; max-width: 330px; }
tr.block-start td { border-top: 2px solid #9a9a9a; }
tr.incomplete td { background: #fff6e8; }
td.best { font-weight: bold; }
.scroll { overflow-x: auto; }
figure { margin: 18px 0; background: #fff; border: 1px solid #e2e2e2; padding: 10px; border-radius: 6px; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { font-size: 0.86em; color: #444; margin-top: 6px; }
.note { font-size: 0.88em; color: #444; } code { font-size: 0.92em; background: #f0f0f0; padding: 0 3px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; font-size: 0.9em; }
dt { font-weight: 600; } dd { margin: 0; word-break: break-word; }
"""


@dataclass
class ReportContent:
    """Everything the page shows."""
    provenance: ReportProvenance
    sweep: Sweep
    completeness: Completeness
    summary: pd.DataFrame
    summary_table: Table
    paired: PairedResults
    rank_outcomes: list[RankOutcome]
    metrics: list[str]
    reference: str
    figures: list[SavedFigure]
    cd_figures: dict[str, SavedFigure]
    sample_figures: list[SavedFigure]
    files: list[str]


def esc(text: object) -> str:
    return html.escape("" if text is None else str(text))


def data_uri(figure: SavedFigure) -> str:
    return "data:image/png;base64," + base64.b64encode(figure.png.read_bytes()).decode("ascii")


def figure_html(figure: SavedFigure) -> str:
    return (f'<figure><img src="{data_uri(figure)}" alt="{esc(figure.title)}">'
            f"<figcaption><b>{esc(figure.title)}.</b> {esc(figure.caption)} "
            f"(files <code>{esc(figure.png.name)}</code>, <code>{esc(figure.svg.name)}</code>)</figcaption></figure>")


def table_html(frame: pd.DataFrame, labels: int = 0, bold: pd.DataFrame | None = None,
               row_classes: list[str] | None = None) -> str:
    """A plain HTML table of string cells; the first ``labels`` columns left-aligned; ``bold`` marks cells;
    ``row_classes`` are CSS classes per row (``incomplete``, ``block-start``)."""
    head = "".join(f'<th class="{"label" if j < labels else ""}">{esc(c)}</th>' for j, c in enumerate(frame.columns))
    body = []
    for i, (_, row) in enumerate(frame.iterrows()):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = []
        for j, value in enumerate(row):
            kind = "label" if j < labels else ("best" if bold is not None and bool(bold.iat[i, j - labels]) else "")
            cells.append(f'<td class="{kind}">{esc(value)}</td>')
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _status(content: ReportContent) -> str:
    problems = content.completeness.summary_lines()
    if not problems:
        return '<div class="banner ok">Complete: every expected run of every setting is finished.</div>'
    items = "".join(f"<li>{esc(p)}</li>" for p in problems)
    return (f'<div class="banner warn" id="missing"><b>Incomplete sweep: {len(problems)} missing run(s) or other '
            "problem(s).</b> Settings that lack runs are marked † in the tables and drawn hollow in the plots; "
            f"their numbers are means of the runs they have, not of the planned ones.<ul>{items}</ul></div>")


def _summary(content: ReportContent) -> str:
    block = content.summary_table.blocks[0]
    shown = with_label_columns(block.frame)
    labels = block.frame.index.nlevels
    blocks = content.summary["block"]
    starts = (blocks != blocks.shift()) & (blocks.index > 0)
    rows = [" ".join(c for c, on in (("incomplete", not complete), ("block-start", start)) if on)
            for complete, start in zip(content.summary["complete"], starts)]
    bold = best_mask(block)
    footer = "".join(f'<p class="note">{esc(line)}</p>' for line in content.summary_table.footer)
    return (table_html(shown, labels, bold, rows) + '<p class="note">Bold: best complete mean of each metric within '
            "a block.</p>" + footer)


def _significance(content: ReportContent) -> str:
    out = [f"<h3>Paired tests against <code>{esc(content.reference)}</code></h3>",
           f'<p class="note">{esc(PAIRED_METHOD)}.</p>']
    for metric in content.metrics:
        shown = paired_display(content.paired, metric)
        out.append(f"<h3>{esc(metric)}</h3>")
        labels = 3 if "vs" in shown.columns else 2
        starts = ["block-start" if i and b else "" for i, b in enumerate(shown["block"])]
        out.append(table_html(shown, labels, row_classes=starts) if len(shown)
                   else '<p class="note">(no comparison)</p>')
    out += [f'<p class="note">{esc(n)}</p>' for n in content.paired.notes]
    out.append("<h3>Over blocks: Friedman / Iman–Davenport, Nemenyi post-hoc</h3>")
    out.append('<p class="note">Each block (data × IR × classifier × other settings) counts as one data set; a '
               "method's score there is its mean over the (seed, fold) units all methods share. Blocks of one data "
               f"set at several IRs are not independent data sets. {esc(POST_HOC)}.</p>")
    for outcome in content.rank_outcomes:
        out.append("<p>" + "<br>".join(esc(line) for line in rank_lines(outcome)) + "</p>")
        if outcome.metric in content.cd_figures:
            out.append(figure_html(content.cd_figures[outcome.metric]))
    return "".join(out)


def _provenance(content: ReportContent) -> str:
    p = content.provenance
    runs = content.sweep.runs
    commands = list(dict.fromkeys(runs["command"].dropna().astype(str)))
    command_id = {c: f"C{i + 1}" for i, c in enumerate(commands)}
    facts = [("Report made by", f"{p.made_by}"), ("Report code", p.report_code), ("Made at", p.made_at),
             ("Runs read from", p.out_dir), ("Finished runs", str(p.finished_runs)),
             ("Run dates", f"started {p.first_started}, last finished {p.last_finished}"),
             ("Git commit(s) of the runs", commits_text(p.commits)), ("Hardware", hardware_text(p.hardware)),
             ("Versions", "; ".join(p.versions))]
    out = ["<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts) + "</dl>",
           "<h3>Commands of the runs</h3><ul>"
           + "".join(f"<li><b>{command_id[c]}</b> <code>{esc(c)}</code></li>" for c in commands) + "</ul>",
           "<h3>Per setting</h3>"]
    rows = []
    groups = dict(list(runs.groupby("setting", sort=False)))
    for sid in content.summary["setting"]:  # in the summary's order
        group = groups[sid]
        first = group.iloc[0]
        rows.append({"block": first["block_label"], "method": first["variant"], "runs": str(len(group)),
                     "commands": " ".join(sorted({command_id[c] for c in group["command"].dropna().astype(str)})),
                     "commits": ", ".join(sorted({str(c)[:10] + ("*" if d else "") for c, d in
                                                  zip(group["commit"], group["dirty"])})),
                     "hardware": ", ".join(sorted({f"{h} ({d})" for h, d in zip(group["host"], group["device"])})),
                     "first started": str(group["started_at"].dropna().min()),
                     "last finished": str(group["finished_at"].dropna().max()),
                     "setting id": sid})
    out.append(table_html(pd.DataFrame(rows), 2))
    out.append('<p class="note">* dirty: the run had uncommitted changes. Every run\'s command, commit, host and '
               "times are in <code>runs.csv</code>.</p>")
    return "".join(out)


def render_html(content: ReportContent) -> str:
    """The page's text (UTF-8)."""
    p = content.provenance
    sections = [
        ("summary", "Summary", _summary(content)),
        ("significance", "Significance", _significance(content)),
        ("plots", "Plots", "".join(figure_html(f) for f in content.figures) or '<p class="note">No plots.</p>'),
        ("samples", "Synthetic samples",
         "".join(figure_html(f) for f in content.sample_figures)
         or '<p class="note">No run saved synthetic samples (tabular data, or methods that do not generate '
            "samples).</p>"),
        ("provenance", "Provenance", _provenance(content)),
        ("files", "Files", "<ul>" + "".join(f"<li><code>{esc(f)}</code></li>" for f in content.files) + "</ul>"),
    ]
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{esc(title)}</h2>{html_text}</section>'
                   for key, title, html_text in sections)
    metrics = ", ".join(content.metrics)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(p.title)}</title><style>{CSS}</style></head><body><main>"
            f"<h1>Sweep report</h1><p class=\"sub\">{esc(p.out_dir)} — {p.finished_runs} finished runs, "
            f"{content.sweep.runs['setting'].nunique()} settings, {content.sweep.runs['block'].nunique()} blocks; "
            f"metrics {esc(metrics)}; reference <code>{esc(content.reference)}</code></p>"
            f'<p class="sub">Made by <code>{esc(p.made_by)}</code> at {esc(p.made_at)} (code {esc(p.report_code)})</p>'
            f"<nav>{nav}</nav>{_status(content)}{body}</main></body></html>\n")
