"""Figures of synthetic images (Fajardo Figs. 1-2): previews saved by the runs, drawn as PNG grids with matplotlib."""
