"""The test suite, a package: test modules in subfolders may share basenames, and helpers import as
`tests.helpers`. pytest imports from the repository root (pyproject.toml's `pythonpath`); the
scripts that tests start in a fresh Python run as `python -m tests.<name>` from the root."""
