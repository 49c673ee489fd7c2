"""Browser (end-to-end) tests: JupyterLab as students and instructors meet it; see conftest.py."""
