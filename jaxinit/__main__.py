"""`python -m jaxinit`."""

import sys

from jaxinit._cli import main

sys.exit(main())
