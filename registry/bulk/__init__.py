"""Bulk work on the register: import from CSV, XLSX or JSON, export to CSV or XLSX."""
