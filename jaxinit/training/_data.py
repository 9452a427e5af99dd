"""Data for trainability probes: built-in tasks that need no download, and checks of the user's arrays.

Every task is a :class:`Dataset` of float32 inputs and either float32 regression targets of
shape ``(n, outputs)`` or int32 class labels of shape ``(n,)``. The built-in tasks are drawn
on the host with numpy from a seed, so a task is the same on every machine and every run.
"""

import math
from typing import NamedTuple

import numpy as np

TASKS = ("teacher", "mixture", "digits")


class Dataset(NamedTuple):
  """A supervised task: train and test arrays, and what kind of task it is.

  Attributes:
    x_train: ``(n_train, features)`` float32 inputs.
    y_train: ``(n_train, outputs)`` float32 targets, or ``(n_train,)`` int32 labels in ``[0, classes)``.
    x_test: ``(n_test, features)`` float32 inputs.
    y_test: like ``y_train``.
    classes: the number of classes, or ``None`` for regression.
    name: a short label for reports.
  """
  x_train: np.ndarray
  y_train: np.ndarray
  x_test: np.ndarray
  y_test: np.ndarray
  classes: int | None = None
  name: str = "data"

  @property
  def task(self) -> str:
    """``"classification"`` or ``"regression"``."""
    return "regression" if self.classes is None else "classification"

  @property
  def outputs(self) -> int:
    """Width of the network's readout: the number of classes, or of regression targets."""
    return self.classes if self.classes is not None else self.y_train.shape[1]


def _standardise(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Zero mean, unit variance per feature, with the train set's statistics (constant features stay 0)."""
  mean, std = x_train.mean(axis=0), x_train.std(axis=0)
  std = np.where(std > 0, std, 1.0)
  return ((x_train - mean) / std).astype(np.float32), ((x_test - mean) / std).astype(np.float32)


def teacher(n_train: int = 512, n_test: int = 512, features: int = 16, hidden: int = 64,
            seed: int = 0) -> Dataset:
  r"""A teacher-network regression: targets of a random one-hidden-layer tanh network.

  .. math::
    x \sim N(0, I_d), \qquad y = \frac{1}{\sqrt{h}} \tanh\!\Big(\frac{x W_1}{\sqrt{d}}\Big) w_2,
    \qquad W_1, w_2 \text{ i.i.d. } N(0, 1)

  then centred and scaled to unit variance with the train set's statistics, so predicting
  the mean has loss 1 (mean squared error).

  Args:
    n_train: training examples, >= 2.
    n_test: test examples, >= 1.
    features: input dimension d, >= 1.
    hidden: teacher width h, >= 1.
    seed: numpy seed of the draw.

  Returns:
    A regression :class:`Dataset` with one output.

  Raises:
    ValueError: a size below its minimum.

  Examples:
    >>> from jaxinit import training
    >>> data = training.teacher(n_train=64, n_test=8)
    >>> data.x_train.shape, data.y_train.shape, data.task
    ((64, 16), (64, 1), 'regression')
  """
  for name, value, low in (("n_train", n_train, 2), ("n_test", n_test, 1), ("features", features, 1),
                           ("hidden", hidden, 1)):
    _check_size(name, value, low, "teacher")
  rng = np.random.default_rng(seed)
  w1 = rng.standard_normal((features, hidden))
  w2 = rng.standard_normal((hidden, 1))
  x = rng.standard_normal((n_train + n_test, features))
  y = np.tanh(x @ w1 / math.sqrt(features)) @ w2 / math.sqrt(hidden)
  mean, std = y[:n_train].mean(), y[:n_train].std()
  y = ((y - mean) / (std if std > 0 else 1.0)).astype(np.float32)
  x = x.astype(np.float32)
  return Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:], None, "teacher")


def mixture(n_train: int = 512, n_test: int = 512, features: int = 16, classes: int = 4,
            separation: float = 3.0, seed: int = 0) -> Dataset:
  r"""A Gaussian-mixture classification: one isotropic Gaussian per class.

  .. math::
    \mu_k \sim N(0, I_d) \cdot \frac{s}{\sqrt{2 d}}, \qquad x \mid k \sim N(\mu_k, I_d)

  so two class means lie about ``s`` apart (``separation``); classes are drawn uniformly
  and inputs standardised with the train set's statistics.

  Args:
    n_train: training examples, >= 2.
    n_test: test examples, >= 1.
    features: input dimension d, >= 1.
    classes: number of classes, >= 2.
    separation: typical distance between two class means, in units of the noise std, > 0.
    seed: numpy seed of the draw.

  Returns:
    A classification :class:`Dataset`.

  Raises:
    ValueError: a size below its minimum or a non-positive separation.

  Examples:
    >>> from jaxinit import training
    >>> data = training.mixture(n_train=64, n_test=8, classes=3)
    >>> data.task, data.classes, data.y_train.dtype.name
    ('classification', 3, 'int32')
  """
  for name, value, low in (("n_train", n_train, 2), ("n_test", n_test, 1), ("features", features, 1),
                           ("classes", classes, 2)):
    _check_size(name, value, low, "mixture")
  if not (isinstance(separation, (int, float)) and math.isfinite(separation) and separation > 0):
    raise ValueError(f"mixture: separation={separation!r} must be a finite number > 0")
  rng = np.random.default_rng(seed)
  means = rng.standard_normal((classes, features)) * (separation / math.sqrt(2 * features))
  labels = rng.integers(0, classes, n_train + n_test)
  x = means[labels] + rng.standard_normal((n_train + n_test, features))
  x_train, x_test = _standardise(x[:n_train], x[n_train:])
  labels = labels.astype(np.int32)
  return Dataset(x_train, labels[:n_train], x_test, labels[n_train:], classes, "mixture")


def digits(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
  """scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes), shuffled and split.

  Needs scikit-learn (an optional extra: ``pip install scikit-learn``); nothing is downloaded.

  Args:
    test_fraction: share of the images held out, in (0, 1).
    seed: numpy seed of the shuffle.

  Returns:
    A classification :class:`Dataset` with 64 standardised features.

  Raises:
    ImportError: scikit-learn is not installed.
    ValueError: ``test_fraction`` outside (0, 1).

  References:
    Alpaydin & Kaynak, Optical Recognition of Handwritten Digits (UCI), 1998.
  """
  if not (isinstance(test_fraction, float) and 0.0 < test_fraction < 1.0):
    raise ValueError(f"digits: test_fraction={test_fraction!r} must be a float in (0, 1)")
  try:
    from sklearn.datasets import load_digits
  except ImportError:
    raise ImportError("digits: the 8x8 digits task needs scikit-learn (pip install scikit-learn); "
                      "data='teacher' and data='mixture' need nothing") from None
  bunch = load_digits()
  order = np.random.default_rng(seed).permutation(len(bunch.target))
  x, y = bunch.data[order].astype(np.float64), bunch.target[order].astype(np.int32)
  n_test = max(1, int(round(test_fraction * len(y))))
  x_train, x_test = _standardise(x[n_test:], x[:n_test])
  return Dataset(x_train, y[n_test:], x_test, y[:n_test], 10, "digits")


def _check_size(name: str, value, low: int, where: str) -> None:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
    raise ValueError(f"{where}: {name}={value!r} must be an int >= {low}")


def _as_array(value, name: str, where: str) -> np.ndarray:
  try:
    return np.asarray(value)
  except Exception as e:  # a ragged list, an object numpy cannot hold
    raise ValueError(f"{where}: data {name} cannot be read as an array ({e})") from None


def _check_inputs(x: np.ndarray, name: str, where: str) -> np.ndarray:
  if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
    raise ValueError(f"{where}: data {name} must be a non-empty (examples, features) array; "
                     f"got shape {x.shape}")
  if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
    raise ValueError(f"{where}: data {name} must hold real numbers; got dtype {x.dtype}")
  bad = ~np.isfinite(x.astype(np.float64))
  if bad.any():
    row, col = np.argwhere(bad)[0]
    raise ValueError(f"{where}: data {name} has {int(bad.sum())} non-finite value(s), "
                     f"first {x[row, col].item()!r} "
                     f"at [{row}, {col}]")
  return x.astype(np.float32)


def _check_targets(y: np.ndarray, name: str, n: int, classes: int | None, where: str) -> np.ndarray:
  if y.shape[:1] != (n,):
    raise ValueError(f"{where}: data {name} has shape {y.shape} but its inputs have {n} examples")
  if classes is not None:
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
      raise ValueError(f"{where}: data {name} must be a 1-d array of integer labels; got {y.dtype} {y.shape}")
    out = (y < 0) | (y >= classes)
    if out.any():
      raise ValueError(f"{where}: data {name} has label {y[out][0].item()!r} out of range [0, {classes}) "
                       f"({int(out.sum())} label(s) out of range)")
    return y.astype(np.int32)
  if y.ndim == 1:
    y = y[:, None]
  if y.ndim != 2 or y.shape[1] < 1:
    raise ValueError(f"{where}: data {name} must be (examples,) or (examples, outputs); got shape {y.shape}")
  return _check_inputs(y, name, where)


def resolve(data, where: str = "trainability") -> Dataset:
  """A checked :class:`Dataset` from a task name, a Dataset, or arrays.

  Arrays: ``(x, y)`` (the same set for train and test) or ``(x_train, y_train, x_test,
  y_test)``. Integer ``y`` of one dimension is a classification with ``max(y) + 1``
  classes; float ``y`` is a regression. Raises ``ValueError`` naming the array for
  mismatched shapes, non-finite values or labels out of range.
  """
  if data is None:
    data = "teacher"
  if isinstance(data, str):
    if data == "teacher":
      return teacher()
    if data == "mixture":
      return mixture()
    if data == "digits":
      return digits()
    raise ValueError(f"{where}: data={data!r} is unknown; expected one of {', '.join(TASKS)}, a Dataset, "
                     "or arrays (x, y) or (x_train, y_train, x_test, y_test)")
  classes, name = None, "data"
  if isinstance(data, Dataset):
    classes, name = data.classes, data.name
    if classes is not None and (isinstance(classes, bool) or not isinstance(classes, (int, np.integer))
                                or classes < 2):
      raise ValueError(f"{where}: Dataset classes={classes!r} must be None or an int >= 2")
    arrays = tuple(data[:4])
  elif isinstance(data, (tuple, list)) and len(data) in (2, 4):
    arrays = tuple(data) if len(data) == 4 else (data[0], data[1], data[0], data[1])
  else:
    raise ValueError(f"{where}: data of type {type(data).__name__} is not a task name, a Dataset, or a tuple "
                     "(x, y) / (x_train, y_train, x_test, y_test)")
  names = ("x_train", "y_train", "x_test", "y_test")
  x_train, y_train, x_test, y_test = (_as_array(a, n, where) for a, n in zip(arrays, names, strict=True))
  x_train, x_test = _check_inputs(x_train, "x_train", where), _check_inputs(x_test, "x_test", where)
  if x_test.shape[1] != x_train.shape[1]:
    raise ValueError(f"{where}: data x_test has {x_test.shape[1]} features but x_train has "
                     f"{x_train.shape[1]}")
  if classes is None and y_train.ndim == 1 and np.issubdtype(y_train.dtype, np.integer):
    if y_train.size and y_train.min() < 0:
      raise ValueError(f"{where}: data y_train has label {int(y_train.min())} out of range (labels are >= 0)")
    classes = max(2, int(y_train.max()) + 1)
  y_train = _check_targets(y_train, "y_train", x_train.shape[0], classes, where)
  y_test = _check_targets(y_test, "y_test", x_test.shape[0], classes, where)
  if classes is None and y_test.shape[1] != y_train.shape[1]:
    raise ValueError(f"{where}: data y_test has {y_test.shape[1]} outputs but y_train has {y_train.shape[1]}")
  return Dataset(x_train, y_train, x_test, y_test, classes, name)
