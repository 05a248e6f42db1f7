"""``unpaid connector new``: write a complete connector package from the templates beside this file.

``templates/common`` holds what every connector has; ``templates/http`` (a JSON API, with an
emulator) or ``templates/file`` (a JSON export file) adds the client, the spec and the tests.
A template ``x.py.tmpl`` becomes ``x.py`` with ``{{key}}`` replaced; nothing else is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from unpaid.errors import InputError

TEMPLATES = Path(__file__).parent / "templates"
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Names:
    """How one connector name is spelled in each place."""

    name: str

    @property
    def module(self) -> str:
        return f"unpaid_{self.name}"

    @property
    def dist(self) -> str:
        return f"unpaid-{self.name.replace('_', '-')}"

    @property
    def cls(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))


def check_name(name: str) -> Names:
    if not NAME.match(name):
        raise InputError(f"connector name {name!r} is not a lower-case identifier",
                         "use letters, digits and _, starting with a letter, e.g. myshop")
    return Names(name)


def values(names: Names, http: bool) -> dict[str, str]:
    """The ``{{key}}`` values of the templates."""
    title = f"{names.cls} orders ({'its JSON API' if http else 'a JSON export file'})"
    return {
        "name": names.name, "module": names.module, "dist": names.dist, "Class": names.cls, "title": title,
        "backend": "emulator on 127.0.0.1" if http else "a JSON file in a temporary folder",
        "config_example": 'base_url = "https://shop.example.com/api"' if http else 'path = "orders.json"',
        "secret_note": (f"The API key is a secret: `unpaid auth set shop` or `UNPAID_SECRET_SHOP_API_KEY`; "
                        f"`unpaid demo --source {names.name}` runs the tour against the emulator.")
        if http else "The file holds `{\"orders\": [...]}`, one record per order (see `mapping.py`).",
        "client_note": "the API through unpaid.http" if http else "reads and rewrites the export file",
        "emulator_note": "; `emulator.py` serves it over HTTP" if http else "",
    }


def render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def plan(names: Names, http: bool) -> dict[Path, str]:
    """Every file to write, relative to the package folder, with its text."""
    vals = values(names, http)
    files: dict[Path, str] = {}
    for folder in ("common", "http" if http else "file"):
        root = TEMPLATES / folder
        for template in sorted(root.rglob("*.tmpl")):
            relative = template.relative_to(root).with_suffix("")
            if relative.suffix == ".py" and relative.parent == Path("."):
                relative = Path(names.module) / relative  # package modules; tests/ and top files stay
            files[relative] = render(template.read_text(encoding="utf-8"), vals)
    return files


def write(names: Names, http: bool, target: Path) -> list[Path]:
    """Write the package into ``target`` (which must not exist); return the files written."""
    if target.exists():
        raise InputError(f"{target} already exists", "choose another --dir, or remove it first")
    written = []
    for relative, text in plan(names, http).items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
