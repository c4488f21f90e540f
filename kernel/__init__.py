"""The pure domain of mfawatch: configuration and layouts, text, change kinds, outcomes and
statuses, diffing, errors. It imports nothing else of the project; storage, scraper and
scheduler build on it, and the CLI, web app and reports sit on top (pyproject.toml, import-linter).
"""
