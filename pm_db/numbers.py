"""How pm writes a version and iteration for people: `v003 i007`."""


def label(version: int, iteration: int) -> str:
    """`v003 i007`: the numbers as every listing, message and layer comment shows them."""
    return f"v{version:03d} i{iteration:03d}"
