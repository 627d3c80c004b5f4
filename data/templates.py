"""Pages from Jinja2 templates: every value escaped unless marked safe, a missing value an
error. Each package keeps its templates in a ``templates/`` folder beside its modules."""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup


@cache
def _environment(folder: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )


def render(module_file: str, template: str, **values: object) -> str:
    """Render ``template`` of the ``templates/`` folder beside ``module_file``."""
    folder = Path(module_file).resolve().parent / "templates"
    return _environment(folder).get_template(template).render(**values)


def inline_png(path: Path) -> Markup:
    """A PNG file as a data URI, for a page that must stand alone."""
    return Markup("data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode())
