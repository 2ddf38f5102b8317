"""The command line, `python -m core <command>`: one module per command."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "main": ["main"],
})
