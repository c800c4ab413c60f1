"""Called once, from the app's ready(): start-up work, not usage, but not unused code."""

connected: list[str] = []


def connect_handlers() -> None:
    connected.append("user_registered")


def never_called() -> None:
    """The unused page's control: instrumented, never run."""
