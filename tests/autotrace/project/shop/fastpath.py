"""Excluded by EXCLUDE = ["shop.fastpath"]: imported normally, never counted."""


def hot(x):
    return x * 2
