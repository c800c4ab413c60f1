"""A module-level __getattr__ (PEP 562) is an ordinary function: auto-traced."""


def __getattr__(name):
    if name.startswith("computed_"):
        return name.removeprefix("computed_")
    raise AttributeError(name)
