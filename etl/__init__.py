"""Imports, exports, the template generator and the command line (`python -m etl`)."""
