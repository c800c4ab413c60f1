"""Nested 20 blocks deep: compiles, but the two blocks the rewriter adds exceed CPython's
limit (CO_MAXBLOCKS), so the hook falls back to a normal import with a warning."""


def deep(n):
    for i0 in range(n):
        for _i1 in range(n):
            for _i2 in range(n):
                for _i3 in range(n):
                    for _i4 in range(n):
                        for _i5 in range(n):
                            for _i6 in range(n):
                                for _i7 in range(n):
                                    for _i8 in range(n):
                                        for _i9 in range(n):
                                            for _i10 in range(n):
                                                for _i11 in range(n):
                                                    for _i12 in range(n):
                                                        for _i13 in range(n):
                                                            for _i14 in range(n):
                                                                for _i15 in range(n):
                                                                    for _i16 in range(n):
                                                                        for _i17 in range(n):
                                                                            for _i18 in range(n):
                                                                                for _i19 in range(n):  # noqa: E501
                                                                                    return i0
    return -1
