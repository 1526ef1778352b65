"""Packaging: one import package, `airspace`, spread over the repository's folders.

Each folder holds its part of the namespace (services/airspace/router is airspace.router,
protos/airspace/v1 is the generated airspace.v1), so every package is mapped to its folder.
"""

import pathlib

from setuptools import find_namespace_packages, setup

ROOTS = ["protos", "services", "gateway", "policy", "agents"]
# The sample workflows and their inputs, for `airspace up` and the demo.
DATA_PACKAGES = {"airspace.workflows": "workflows"}


def package_dirs() -> dict[str, str]:
    dirs: dict[str, str] = {}
    for root in ROOTS:
        for package in find_namespace_packages(root, include=["airspace", "airspace.*"]):
            folder = pathlib.Path(root, *package.split("."))
            # A folder with only subfolders is a namespace that another root also holds.
            if package not in dirs or any(folder.glob("*.py")):
                dirs[package] = folder.as_posix()
    return dirs | DATA_PACKAGES


PACKAGE_DIRS = package_dirs()
setup(packages=sorted(PACKAGE_DIRS), package_dir=PACKAGE_DIRS)
