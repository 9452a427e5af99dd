"""The report `jaxinit train` writes: trainability.json, trainability.csv, the heatmap and an index.html."""

import html
import math
import time
from pathlib import Path

from jaxinit.training._result import DIVERGE_FACTOR, TRAINS_FRACTION, VERDICTS, write_atomic

HEATMAP = "heatmap_trainability.png"

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.params { color: #555; } table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; text-align: center; } td.name { text-align: left; font-weight: 600; }
td.zero { color: #bbb; } td.v-trains { color: #1a7a33; } td.v-stalls { color: #7a5a00; }
td.v-diverges { color: #b0302a; } figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px
solid #ddd; }
figcaption { color: #555; } code { background: #f4f4f4; padding: 0 0.25em; }
"""


def summary_rows(result) -> list[dict]:
  """Per scheme x activation x width x rate: verdict counts over depth and the deepest trainable depth."""
  verdict, deepest = result.verdict(), result.trainable_depth()
  rows = []
  for k, scheme in enumerate(result.schemes):
    for a, act in enumerate(result.activations):
      for w, width in enumerate(result.widths):
        for r, rate in enumerate(result.learning_rates):
          cells = verdict[k, a, w, :, r]
          rows.append({"scheme": scheme, "activation": act, "width": width,
                       "learning_rate": None if math.isnan(rate) else rate,
                       "verdicts": {v: int((cells == v).sum()) for v in VERDICTS},
                       "trains_to_depth": int(deepest[k, a, w, r])})
  return rows


def html_page(result, *, elapsed: float | None = None) -> str:
  """A self-contained page: the parameters, the verdict table and the heatmap (relative links)."""
  esc = html.escape
  rates = ", ".join("-" if math.isnan(r) else f"{r:g}" for r in result.learning_rates)
  params = [f"task {esc(result.task)} on <code>{esc(result.data_name)}</code>", f"{result.steps} steps",
            f"optimizer <code>{esc(result.optimizer)}</code> (learning rates {rates})",
            f"batch {result.batch}", f"{result.seeds} seeds", f"bias std {result.bias_std:g}",
            f"parametrization {esc(result.parametrization)}",
            f"depths {', '.join(map(str, result.depths))}", f"widths {', '.join(map(str, result.widths))}"]
  if elapsed is not None:
    params.append(f"{elapsed:.1f} s")
  body = []
  for row in summary_rows(result):
    rate = "-" if row["learning_rate"] is None else f"{row['learning_rate']:g}"
    cells = [f'<td class="name">{esc(row["scheme"])}</td>', f"<td>{esc(row['activation'])}</td>",
             f"<td>{row['width']}</td>", f"<td>{rate}</td>"]
    for v in VERDICTS:
      n = row["verdicts"][v]
      cells.append(f'<td class="{"zero" if n == 0 else "v-" + v}">{n if n else "."}</td>')
    cells.append(f"<td>{row['trains_to_depth'] or '-'}</td>")
    body.append("<tr>" + "".join(cells) + "</tr>")
  head = "".join(f"<th>{v}</th>" for v in VERDICTS)
  return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>jaxinit trainability report</title>
<style>{_CSS}</style>
</head>
<body>
<h1>jaxinit trainability report</h1>
<p class="params">{" &middot; ".join(params)}<br>written {esc(time.strftime("%Y-%m-%d %H:%M:%S"))}</p>
<h2>Verdicts</h2>
<p>Per configuration (the seeds' majority): <em>trains</em> when the final train loss is at most
{TRAINS_FRACTION:g} x the baseline loss {result.baseline_loss:.4g} (the best constant prediction's);
<em>diverges</em> when the loss or parameters stopped being finite, or the final loss is above
{DIVERGE_FACTOR:g} x the larger of the initial and baseline losses; <em>stalls</em> otherwise. "trains to
depth": the deepest depth up to which every depth trains.</p>
<table>
<thead><tr><th>scheme</th><th>activation</th><th>width</th><th>learning rate</th>{head}
<th>trains to depth</th></tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
<h2>Heatmap</h2>
<figure><img src="{HEATMAP}" alt="trainability heatmap"><figcaption>log10 of the final train loss over the
baseline per scheme and depth (first learning rate); black: diverged; outlined: trains.</figcaption></figure>
<h2>Data</h2>
<p><a href="trainability.json">trainability.json</a> (parameters, thresholds, one record per configuration
and seed with its loss curve) &middot; <a href="trainability.csv">trainability.csv</a> (one row per
configuration and seed)</p>
</body>
</html>
"""


def write(result, out, *, elapsed: float | None = None) -> list[Path]:
  """Writes trainability.json, trainability.csv, the heatmap and index.html into ``out``, each atomically."""
  out = Path(out)
  files = [result.to_json(out / "trainability.json"), result.to_csv(out / "trainability.csv"),
           result.plot(out / HEATMAP)]
  files.append(write_atomic(out / "index.html", html_page(result, elapsed=elapsed)))
  return files
