"""The sweep report's page: parameters, the summary table and the heatmaps, with no network access."""

import html
import time
from pathlib import Path

from jaxinit.report import _tables
from jaxinit.report._atomic import write_atomically
from jaxinit.sweep._result import COLLAPSE_TOL, EXPLODE_LOG10, VANISH_LOG10, VERDICTS

FIGURES = (("heatmap_forward.png", "forward"), ("heatmap_gradient.png", "gradient"))

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.params { color: #555; } .warn { background: #fff3cd; border: 1px solid #e0c36a; padding: 0.5em 0.8em; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; text-align: center; } td.name { text-align: left; font-weight: 600; }
td.act { text-align: left; }
td.zero { color: #bbb; } td.all { font-weight: 600; }
ul.use { padding-left: 1.2em; } ul.use li { margin: 0.2em 0; } ul.notes { color: #555; padding-left: 1.2em; }
td.v-stable { color: #1a7a33; } td.v-exploding, td.v-non-finite { color: #b0302a; }
td.v-vanishing { color: #2d4fb0; }
td.v-collapsed { color: #7a5a00; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; } code { background: #f4f4f4; padding: 0 0.25em; }
"""


def _summary_cells(result) -> tuple[str, list[str]]:
  """The summary table's second header row and body rows, from :func:`jaxinit.report.summary_rows`."""
  esc = html.escape
  head = "".join(f"<th>{esc(v)}</th>" for v in VERDICTS)
  head += "".join(f"<th>N={w}</th>" for w in result.widths)
  body = []
  for row in _tables.summary_rows(result):
    cells = [f'<td class="name">{esc(row["scheme"])}</td>', f'<td class="act">{esc(row["activation"])}</td>']
    for v in VERDICTS:
      n = row["verdicts"][v]
      cells.append(f'<td class="{"zero" if n == 0 else "v-" + v}">{n if n else "."}</td>')
    for w in result.widths:
      depth = row["stable_depth"][str(w)]
      text, cls = _tables.stable_cell(depth, result.depths[-1])
      hue = 120 * _tables.depth_fraction(depth, result.depths[-1])  # red (none) through yellow to green (all)
      cells.append(f'<td class="{cls}" style="background: hsl({hue:.0f}, 65%, 86%)">{text}</td>')
    body.append("<tr>" + "".join(cells) + "</tr>")
  return head, body


def _parameters(result, elapsed: float | None, cache) -> list[str]:
  """The page's line of parameters, as escaped HTML pieces."""
  esc = html.escape
  depths = result.depths
  depth_text = f"{depths[0]}..{depths[-1]} ({len(depths)} depths)" if len(depths) > 1 else str(depths[0])
  params = [f"architecture <code>{esc(result.architecture)}</code>", f"depths {depth_text}",
            f"widths {', '.join(map(str, result.widths))}", f"batch {result.batch}", f"{result.seeds} seeds",
            esc(_tables.bias_text(result)), f"input correlation {result.input_correlation:g}"]
  if result.architecture == "resnet":
    params.append(f"branch scale {result.branch_scale:g}")
  if elapsed is not None:
    params.append(f"{elapsed:.1f} s")
  params.append(f"compiled programs kept in {esc(str(cache))}" if cache else "compiled programs not kept")
  return params


def html_page(result, *, elapsed: float | None = None, cache=None) -> str:
  """A self-contained page: parameters, the summary table and the two heatmaps (relative links)."""
  esc = html.escape
  depths = result.depths
  params = _parameters(result, elapsed, cache)
  head, body = _summary_cells(result)
  use = "\n".join(f"<li>{esc(u['text'])}</li>" for u in _tables.use_lines(result))
  notes = "\n".join(f"<li>{esc(n)}</li>" for n in _tables.notes(result))
  figures = "\n".join(
      f'<figure><img src="{name}" alt="{metric} heatmap"><figcaption>log10 of the {metric} ratio per depth '
      f"and width; blue vanishing, red exploding, outlined stable, black non-finite.</figcaption></figure>"
      for name, metric in FIGURES)
  warn = ('<p class="warn">Interrupted: only the widths that finished are in this report.</p>'
          if result.interrupted else "")
  n_configs = len(result.schemes) * len(result.activations) * len(result.widths) * len(depths)
  return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>jaxinit sweep report</title>
<style>{_CSS}</style>
</head>
<body>
<h1>jaxinit sweep report</h1>
<p class="params">{" &middot; ".join(params)}<br>written {esc(time.strftime("%Y-%m-%d %H:%M:%S"))},
{n_configs} configurations (scheme x activation x width x depth)</p>
{warn}
<h2>What to use</h2>
<p>Per activation, the scheme that stays stable deepest across the widths swept:</p>
<ul class="use">
{use}
</ul>
<h2>Verdicts</h2>
<p>Counts of each verdict over width x depth, and the deepest depth up to which every depth is stable,
per width
(<code>{depths[-1]}+</code>: stable through the deepest depth swept; <code>-</code>: not even the shallowest).
Exploding: forward or gradient ratio above 10<sup>{EXPLODE_LOG10:g}</sup>; vanishing: below
10<sup>{VANISH_LOG10:g}</sup>; collapsed: units or paired inputs identical to {COLLAPSE_TOL:g}.</p>
<table>
<thead><tr><th rowspan="2">scheme</th><th rowspan="2">activation</th>
<th colspan="{len(VERDICTS)}">verdict counts (width x depth)</th>
<th colspan="{len(result.widths)}">deepest stable depth, per width</th></tr>
<tr>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
<p>The deepest-stable-depth cells are coloured by how far through the depths swept they hold: red none,
yellow half way, green all of them.</p>
<ul class="notes">
{notes}
</ul>
<h2>Heatmaps</h2>
{figures}
<h2>Data</h2>
<p><a href="sweep.json">sweep.json</a> (parameters, thresholds, one record per configuration) &middot;
<a href="sweep.csv">sweep.csv</a> (one row per configuration, every metric)</p>
</body>
</html>
"""


def write_html(result, path, *, elapsed: float | None = None, cache=None) -> Path:
  """Writes :func:`html_page` to ``path`` (atomically).

  Raises:
    OSError: the file cannot be written; ``path`` is then left as it was.
  """
  text = html_page(result, elapsed=elapsed, cache=cache)
  return write_atomically(path, lambda f: f.write(text))
