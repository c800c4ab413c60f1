def early_function():
    return "early"
