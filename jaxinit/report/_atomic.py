"""Figures written whole or not at all, through the one atomic writer (`jaxinit.core._atomic`)."""

from pathlib import Path

from jaxinit.core._atomic import write_atomically


def save_figure(fig, path) -> Path:
  """Writes a matplotlib figure to ``path`` atomically, in the format its suffix names (png without one).

  Raises:
    OSError: as :func:`write_atomically`; ``path`` is then left as it was.
  """
  path = Path(path)
  image_format = path.suffix[1:] or "png"
  return write_atomically(path, lambda f: fig.savefig(f, format=image_format, dpi=110), binary=True)
