"""Figures: grids of synthetic images (Fajardo Figs. 1-2, GAMO Figs. 4-5, IMSIC Fig. 1), metric-against-IR plots (IMSIC Fig. 3), latent traversals (IMSIC Fig. 4d/e), the EGL sine-wave demo (EGL Fig. 1)."""


def parse_where(parser, items: list[str]) -> dict[str, str]:
    """``--where KEY=VALUE`` options as a dict; a malformed one ends the command through ``parser.error``."""
    where = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--where takes KEY=VALUE (a field of the records' job, e.g. data=mnist), got {item!r}")
        where[key] = value
    return where
