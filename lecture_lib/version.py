"""The library's release (``pyproject.toml``'s version; a test keeps them equal).

A notebook's install cell names the release it was built with (``pip install ...@v<version>``) and
sets ``LECTURE_NOTEBOOK_RELEASE``; ``lecture_lib.setup`` says so when the running library differs.
"""

__version__ = "0.3.0"
RELEASE_ENV = "LECTURE_NOTEBOOK_RELEASE"


def release_tag(version: str = __version__) -> str:
    """The git tag of a release: ``v0.3.0``."""
    return f"v{version}"
