"""The environment files agree, and the project's promises about setup hold."""
import re

from conftest import REPO

# conda-forge name -> PyPI name, where they differ. conda-forge's `playwright` is the Node.js tool; the Python
# binding is `playwright-python`. conda-forge's `jupyterhub` is PyPI's jupyterhub plus the npm proxy (which the course
# installs from npm, hub/package.json): PyPI's alone is `jupyterhub-base`.
CONDA_NAMES = {"pytorch": "torch", "psycopg2": "psycopg2-binary", "playwright-python": "playwright",
               "jupyterhub-base": "jupyterhub"}


def pip_pins():
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def conda_pins():
    pins = {}
    for line in (REPO / "environment.yml").read_text().splitlines():
        match = re.match(r"\s+-\s+([A-Za-z0-9_.-]+)=([0-9][^=\s#]*)", line)
        if match and match.group(1) != "python":
            pins[CONDA_NAMES.get(match.group(1), match.group(1)).lower()] = match.group(2)
    return pins


def test_requirements_pin_every_package_exactly():
    lines = [l.split("#")[0].strip() for l in (REPO / "requirements.txt").read_text().splitlines()]
    assert all("==" in l for l in lines if l), "every requirement is pinned with =="
    assert pip_pins()["torch"] == "2.13.0"


def test_conda_environment_names_the_same_packages_and_versions():
    assert conda_pins() == pip_pins()


def test_conda_environment_takes_the_cpu_build_of_torch():
    assert re.search(r"^\s+- pytorch=2\.13\.0=cpu_\*", (REPO / "environment.yml").read_text(), re.MULTILINE)


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    for name, pinned in pip_pins().items():
        assert version(name).split("+")[0] == pinned, name


def test_conda_environment_uses_conda_forge_names_where_they_differ_from_pypi():
    text = (REPO / "environment.yml").read_text()
    names = re.findall(r"^\s+-\s+([A-Za-z0-9_.-]+)=", text, re.MULTILINE)
    assert "playwright-python" in names and "playwright" not in names  # not the Node.js tool
    assert "torch" not in names and "psycopg2-binary" not in names
    assert "jupyterhub-base" in names and "jupyterhub" not in names  # the proxy comes from npm (hub/package.json)


def test_the_hubs_proxy_is_pinned_locked_and_installed_before_the_tests():
    import json

    wanted = json.loads((REPO / "hub" / "package.json").read_text())["dependencies"]
    assert list(wanted) == ["configurable-http-proxy"] and re.fullmatch(r"\d+\.\d+\.\d+", wanted["configurable-http-proxy"])
    locked = json.loads((REPO / "hub" / "package-lock.json").read_text())["packages"]
    assert locked["node_modules/configurable-http-proxy"]["version"] == wanted["configurable-http-proxy"]
    makefile = (REPO / "Makefile").read_text()
    assert "npm ci --prefix hub" in makefile
    for target in ("test", "e2e"):
        assert re.search(rf"^{target}: .*\$\(HUB_PROXY\)", makefile, re.MULTILINE), target
