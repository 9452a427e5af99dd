"""Files written whole or not at all: a temporary file in the same folder, then ``os.replace``.

Every layer writes through it: the sweep's program cache, the report, the commands.
"""

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_atomically(path, write: Callable[[IO], None], *, binary: bool = False) -> Path:
  """Calls ``write(file)`` on a temporary file beside ``path``, then renames it to ``path``.

  A reader never sees a partial file under ``path``: on any error (a full disk, an
  interrupt) the temporary file is removed, ``path`` keeps what it held before, and the
  error propagates (an ``OSError`` names ``path``). A symbolic link is followed (the file
  it points to is replaced); a path that exists but is not a regular file (``/dev/null``,
  a pipe) is written into directly, since renaming over it would replace the device.

  Args:
    path: the file to write.
    write: writes the whole content to the open file it is given.
    binary: open the temporary file in binary mode (else text, UTF-8, no newline translation).

  Returns:
    ``path`` as a :class:`pathlib.Path`.

  Raises:
    OSError: the folder cannot be written, or the write fails (``filename`` is ``path``).

  Examples:
    >>> import tempfile, pathlib
    >>> from jaxinit.report import write_atomically
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_atomically(folder / "a.txt", lambda f: f.write("hello")).read_text()
    'hello'
  """
  path = Path(path)
  target = Path(os.path.realpath(path))  # through a symbolic link: replace the file it points to
  if target.exists() and not target.is_file():  # a device or a pipe (/dev/null, /dev/stdout): write into it
    with open(target, "wb" if binary else "w", **_text_options(binary)) as f:
      write(f)
    return path
  fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
  try:
    mode = "wb" if binary else "w"
    with os.fdopen(fd, mode, **_text_options(binary)) as f:
      write(f)
      f.flush()
      os.fsync(f.fileno())
    os.chmod(temp, 0o666 & ~_UMASK)
    os.replace(temp, target)
  except BaseException as e:
    with contextlib.suppress(OSError):
      os.unlink(temp)
    if isinstance(e, OSError) and e.filename != str(path):  # name the file asked for, not the temporary one
      raise OSError(e.errno, e.strerror or str(e), str(path)) from e
    raise
  return path


def _text_options(binary: bool) -> dict:
  return {} if binary else {"encoding": "utf-8", "newline": ""}


def _umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask


# read once, at import: setting the umask to read it is not safe while other threads create files
_UMASK = _umask()
