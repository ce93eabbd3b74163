"""Application services: the one way in for every change (DESIGN principle 2).

Each function checks permission, validates, writes in one transaction with its audit events, and
returns domain models. The API, the CLI and the importers all call these; none writes on its own.
"""
