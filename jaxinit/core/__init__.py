"""Internal pieces every layer shares: argument checks, dtypes, activations and their Gaussian expectations.

Nothing here is public API; the layers above (initializers, theory, sweep, report, cli) import it.
"""
