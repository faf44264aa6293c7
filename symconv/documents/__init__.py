"""Whole documents assembled from the renderers: lecture notes and the formula sheet."""
