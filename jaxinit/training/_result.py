"""The result of a trainability probe: loss curves, final numbers and a verdict per configuration."""

import csv
import io
import json
import math
from pathlib import Path

import numpy as np

VERDICTS = ("trains", "stalls", "diverges")
TRAINS_FRACTION = 0.5  # "trains": final train loss <= 0.5 x the best constant prediction's loss
DIVERGE_FACTOR = 10.0  # "diverges": non-finite, or final train loss > 10 x max(initial loss, baseline)
AXES = ("scheme", "activation", "width", "depth", "learning_rate", "seed")


def write_atomic(path, text: str) -> Path:
  """Writes ``text`` to ``path`` whole or not at all (:func:`jaxinit.report.write_atomically`)."""
  from jaxinit.report import write_atomically  # at call time: importing jaxinit loads no report code

  return write_atomically(path, lambda f: f.write(text))


class TrainabilityResult:
  """What :func:`jaxinit.trainability` measured.

  Arrays have axes ``(scheme, activation, width, depth, learning_rate, seed)``; ``curve``
  has one more, the step. ``curve[..., t]`` is the minibatch loss before update ``t``
  (nan from the step a configuration diverged on). Accuracies are nan for regression.

  Verdicts (per seed, see :meth:`verdict`), against ``baseline_loss``, the train loss of
  the best constant prediction (the targets' variance for regression, the labels' entropy
  for classification):

  * ``"diverges"``: the loss or the parameters stopped being finite (or the loss passed
    1e30) during training, or the final train loss is above ``DIVERGE_FACTOR`` = 10 times
    the larger of the initial loss and the baseline;
  * ``"trains"``: the final train loss is at most ``TRAINS_FRACTION`` = 0.5 times the baseline;
  * ``"stalls"``: anything else.
  """

  def __init__(self, *, schemes, activations, widths, depths, learning_rates, seeds, steps, batch, task,
               data_name, baseline_loss, sigma_w2, bias_std, optimizer, parametrization, base_width, curve,
               initial_loss, train_loss, test_loss, train_accuracy, test_accuracy, diverged_at):
    self.schemes, self.activations, self.widths, self.depths = schemes, activations, widths, depths
    self.learning_rates, self.seeds, self.steps, self.batch = learning_rates, seeds, steps, batch
    self.task, self.data_name, self.baseline_loss, self.sigma_w2 = task, data_name, baseline_loss, sigma_w2
    self.bias_std, self.optimizer = bias_std, optimizer
    self.parametrization, self.base_width = parametrization, base_width
    self.curve, self.initial_loss = curve, initial_loss
    self.train_loss, self.test_loss = train_loss, test_loss
    self.train_accuracy, self.test_accuracy, self.diverged_at = train_accuracy, test_accuracy, diverged_at

  @property
  def shape(self) -> tuple[int, ...]:
    """(schemes, activations, widths, depths, learning rates, seeds)."""
    return self.train_loss.shape

  def verdict(self, per_seed: bool = False) -> np.ndarray:
    """"trains" / "stalls" / "diverges" per configuration (the seeds' majority; a tie goes to the worse).

    Args:
      per_seed: keep the seed axis instead of taking the majority.

    Returns:
      A string array of shape ``shape`` (per seed) or ``shape[:-1]``.
    """
    diverged = (self.diverged_at >= 0) | ~np.isfinite(self.train_loss)
    with np.errstate(invalid="ignore"):
      worse = self.train_loss > DIVERGE_FACTOR * np.maximum(self.initial_loss, self.baseline_loss)
      trains = self.train_loss <= TRAINS_FRACTION * self.baseline_loss
    per = np.where(diverged | worse, "diverges", np.where(trains, "trains", "stalls"))
    if per_seed:
      return per
    counts = np.stack([(per == v).sum(axis=-1) for v in VERDICTS], axis=-1)  # (..., 3)
    best = counts.max(axis=-1, keepdims=True)
    worst_of_ties = (VERDICTS.index("diverges") - np.argmax((counts == best)[..., ::-1], axis=-1))
    return np.asarray(VERDICTS, dtype=object)[worst_of_ties].astype(str)

  def loss_ratio(self) -> np.ndarray:
    """Seed-median final train loss over the baseline loss (inf for a diverged seed), shape ``shape[:-1]``."""
    diverged = self.diverged_at >= 0
    loss = np.where(diverged, np.inf, self.train_loss) / self.baseline_loss
    return np.median(loss, axis=-1)

  def trainable_depth(self) -> np.ndarray:
    """Deepest depth up to which every depth "trains", per (scheme, activation, width, rate); 0: none."""
    trains = self.verdict() == "trains"  # (K, A, W, D, R)
    prefix = np.cumprod(trains, axis=3).astype(bool)
    depths = np.asarray(self.depths)[None, None, None, :, None]
    return np.max(np.where(prefix, depths, 0), axis=3)

  def parameters(self) -> dict:
    """The probe's settings, as JSON-ready values."""
    return {"schemes": list(self.schemes), "activations": list(self.activations), "widths": list(self.widths),
            "depths": list(self.depths),
            "learning_rates": [None if math.isnan(r) else r for r in self.learning_rates],
            "seeds": self.seeds, "steps": self.steps, "batch": self.batch, "task": self.task,
            "data": self.data_name, "baseline_loss": self.baseline_loss, "bias_std": self.bias_std,
            "optimizer": self.optimizer, "parametrization": self.parametrization,
            "base_width": self.base_width,
            "sigma_w2": [None if math.isnan(v) else v for v in self.sigma_w2],
            "thresholds": {"trains_fraction": TRAINS_FRACTION, "diverge_factor": DIVERGE_FACTOR}}

  def records(self) -> list[dict]:
    """One record per configuration and seed: its coordinates, numbers and verdict."""
    verdict = self.verdict(per_seed=True)
    rows = []
    for index in np.ndindex(*self.shape):
      k, a, w, d, r, s = index
      rate = self.learning_rates[r]
      row = {"scheme": self.schemes[k], "activation": self.activations[a], "width": self.widths[w],
             "depth": self.depths[d], "learning_rate": None if math.isnan(rate) else rate, "seed": s}
      for name in ("initial_loss", "train_loss", "test_loss", "train_accuracy", "test_accuracy"):
        v = float(getattr(self, name)[index])
        row[name] = v if math.isfinite(v) else None
      row["diverged_at"] = int(self.diverged_at[index])
      row["verdict"] = str(verdict[index])
      rows.append(row)
    return rows

  def to_json(self, path) -> Path:
    """Writes the parameters, the records and the loss curves (nan as null) to ``path``, atomically."""
    curves = np.where(np.isfinite(self.curve), self.curve, np.nan).astype(float)
    records = self.records()
    for row, index in zip(records, np.ndindex(*self.shape), strict=True):
      row["curve"] = [None if math.isnan(v) else round(v, 7) for v in curves[index].tolist()]
    return write_atomic(path, json.dumps({"parameters": self.parameters(), "records": records}))

  def to_csv(self, path) -> Path:
    """Writes one row per configuration and seed (no curves) to ``path``, atomically."""
    records = self.records()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(records[0]))
    writer.writeheader()
    writer.writerows(records)
    return write_atomic(path, buf.getvalue())

  def plot(self, path, *, learning_rate: int = 0, curves: dict | None = None) -> Path:
    """Writes the depth x scheme heatmap of :func:`jaxinit.training.heatmap` to ``path``."""
    from jaxinit.training._plots import heatmap

    return heatmap(self, path, learning_rate=learning_rate, curves=curves)

  def summary(self, console=None) -> None:
    """Prints verdict counts over depth and the deepest trainable depth per scheme x activation x width."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    verdict, deepest = self.verdict(), self.trainable_depth()
    table = Table(title=f"trainability: {self.task} on {self.data_name}, {self.steps} steps, "
                        f"{self.optimizer}")
    for col in ("scheme", "activation", "width", "rate", *VERDICTS, "trains to depth"):
      table.add_column(col)
    for k, a, w, r in np.ndindex(len(self.schemes), len(self.activations), len(self.widths),
                                 len(self.learning_rates)):
      cells = verdict[k, a, w, :, r]
      rate = self.learning_rates[r]
      table.add_row(self.schemes[k], self.activations[a], str(self.widths[w]),
                    "-" if math.isnan(rate) else f"{rate:g}",
                    *(str(int((cells == v).sum())) for v in VERDICTS),
                    str(int(deepest[k, a, w, r])) if deepest[k, a, w, r] else "-")
    console.print(table)

  def __repr__(self) -> str:
    counts = {v: int((self.verdict() == v).sum()) for v in VERDICTS}
    return (f"TrainabilityResult(schemes={list(self.schemes)}, activations={list(self.activations)}, "
            f"widths={list(self.widths)}, depths={list(self.depths)}, steps={self.steps}, verdicts={counts})")
