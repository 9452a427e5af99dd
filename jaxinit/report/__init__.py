"""Rendering a sweep: summary tables, JSON and CSV files, heatmaps and the HTML page."""
