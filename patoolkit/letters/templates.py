"""Letter templates: where they are found, what fields they need, and where in one a
problem is.

The templates are .docx files a consultant edits in Word; a client's own
folder (--templates, or the Settings key letter_templates_folder) overrides the
bundled one file by file, and fields.toml beside them labels and explains each
field a person fills. template_fields reads the fields a template uses from the
template itself, so `patoolkit templates` and the dashboards' letter form
always match the file. The words that say where in a template a problem is
(the tags of one paragraph) are here too, as every reader of a template needs
them.
"""

from __future__ import annotations

import html
import io
import re
import tomllib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..errors import BrokenTemplateError, PAToolkitError, TemplateProblemError
from ..schema import is_blank
from .kinds import LetterKind

if TYPE_CHECKING:
    from ..tracker.read import Tracker

# docxtpl opens a file by name; pip always installs a wheel unpacked, so this is a folder
BUNDLED_TEMPLATES = Path(str(resources.files("patoolkit") / "data" / "templates" / "letters"))
FIELDS_FILE = "fields.toml"
TEMPLATES_SETTING = "letter_templates_folder"
NAMESPACES = ("practice", "payer", "patient", "provider", "request", "deadlines", "letter",
              "criteria")
SENDER, PATIENT = "sender", "patient"  # whose a supplied field is (fields.toml `about`)


def template_folders(tracker: Tracker | None = None, override: Path | str | None = None
                     ) -> list[Path]:
    """Folders searched for a template, first match wins: --templates, Settings, bundled."""
    folders: list[tuple[Path, bool]] = []  # (folder, named by the tracker's Settings)
    if override:
        folders.append((Path(override), False))
    setting = tracker.settings.get(TEMPLATES_SETTING) if tracker is not None else None
    if tracker is not None and not is_blank(setting):
        folder = Path(str(setting)).expanduser()
        folders.append((folder if folder.is_absolute() else tracker.path.parent / folder, True))
    for folder, from_settings in folders:
        if not folder.is_dir():
            error = TemplateProblemError(f"{folder}: the letter template folder does not "
                                         "exist; fix --templates or the Settings key "
                                         f"'{TEMPLATES_SETTING}'.")
            if from_settings:
                error.exit_code = 1  # a finding in the tracker, which `check` warns about
            raise error
    return [*(folder for folder, _ in folders), BUNDLED_TEMPLATES]


def template_path(kind: LetterKind, folders: Sequence[Path]) -> Path:
    for folder in folders:
        if (folder / kind.template).is_file():
            return folder / kind.template
    raise TemplateProblemError(f"no template {kind.template} in " + ", ".join(map(str, folders)))


def _field_help(folders: Sequence[Path]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for folder in reversed(folders):  # bundled first, client entries win (each whole)
        path = folder / FIELDS_FILE
        if path.is_file():
            try:
                entries = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
                raise TemplateProblemError(f"{path}: not valid TOML ({error}).") from None
            for name, entry in entries.items():
                about = entry.get("about", PATIENT) if isinstance(entry, dict) else None
                if about not in (SENDER, PATIENT):
                    raise TemplateProblemError(
                        f"{path}: [{name}] about = {about!r}; write about = \"{SENDER}\" "
                        f"(the same in every letter of a batch) or about = \"{PATIENT}\" "
                        "(one patient's own text).")
            merged.update(entries)
    return merged


def _environment(undefined: type[Undefined] = StrictUndefined) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(undefined=undefined, autoescape=True)


@lru_cache(maxsize=64)
def _template_xml(path: Path, mtime: float) -> str:
    """The Jinja source of a template's body, headers and footers, one paragraph a line
    (as docxtpl renders it, so a line number names a paragraph)."""
    from docxtpl import DocxTemplate

    document = opened_template(DocxTemplate(str(path)), path)
    parts = [document.patch_xml(document.get_xml())]
    for uri in (document.HEADER_URI, document.FOOTER_URI):
        for _key, part in document.get_headers_footers(uri):
            parts.append(document.patch_xml(document.get_part_xml(part)))
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", "\n".join(parts))


_WORD_BODY = "word/document.xml"


def opened_template(document: Any, path: Path | None) -> Any:
    """The DocxTemplate with its .docx read, or BrokenTemplateError saying why it cannot be."""
    try:
        document.init_docx()
    except Exception:
        source = document.template_file
        try:
            archive = zipfile.ZipFile(source if isinstance(source, io.BytesIO) else str(source))
        except (zipfile.BadZipFile, OSError, ValueError):
            problem = "is not a Word .docx file (it is not even a zip archive)"
        else:
            with archive:
                lacks = _WORD_BODY not in archive.namelist()
            problem = ("is a zip archive but not a Word document (it has no "
                       f"{_WORD_BODY})" if lacks else "is a damaged Word document")
        raise BrokenTemplateError(path, problem + "; open it in Word and save it again as "
                                  "a Word Document (.docx)") from None
    return document


@dataclass
class SuppliedField:
    name: str
    label: str
    help: str
    is_list: bool  # one item per line
    optional: bool  # only used under `{% if name is defined %}`
    about: str = PATIENT  # SENDER: a batch may share it; PATIENT (the default): never


@dataclass
class TemplateFields:
    kind: LetterKind
    path: Path
    tracker_fields: list[str]  # namespace.attribute
    supplied: list[SuppliedField]

    def about(self, name: str) -> str:
        """SENDER or PATIENT; a name the template does not supply is about the patient."""
        return next((f.about for f in self.supplied if f.name == name), PATIENT)


def template_fields(kind: LetterKind, folders: Sequence[Path]) -> TemplateFields:
    """The fields a kind's template uses, read from the template itself."""
    path = template_path(kind, folders)
    try:
        xml = _template_xml(path, path.stat().st_mtime)
        tree = _environment().parse(xml)
    except PAToolkitError:
        raise
    except TemplateSyntaxError as error:
        raise BrokenTemplateError(path, syntax_problem(error),
                                  syntax_where(error, xml)) from None
    except Exception as error:
        raise TemplateProblemError(f"{path}: cannot read this template "
                                   f"({type(error).__name__}: {error}).") from None
    for other in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        raise BrokenTemplateError(path, other_file_problem(getattr(other, "template", None)),
                                  where_in_template(xml, other.lineno))
    tracker_fields: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        owner: Any = getattr(node, "node", None)
        if isinstance(owner, nodes.Name) and owner.name in NAMESPACES:
            attribute = node.attr if isinstance(node, nodes.Getattr) else getattr(
                getattr(node, "arg", None), "value", "?")
            tracker_fields.add(f"{owner.name}.{attribute}")
    loop_targets = {n.target.name for n in tree.find_all(nodes.For)
                    if isinstance(n.target, nodes.Name)}
    names = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    iterated = {n.iter.name for n in tree.find_all(nodes.For) if isinstance(n.iter, nodes.Name)}
    guarded = {n.node.name for n in tree.find_all(nodes.Test)
               if n.name == "defined" and isinstance(n.node, nodes.Name)}
    printed = {n.name for output in tree.find_all(nodes.Output)
               for n in output.find_all(nodes.Name)}
    helps = _field_help(folders)
    supplied = []
    for name in sorted(names - set(NAMESPACES) - loop_targets - {"loop"}):
        info = helps.get(name, {})
        supplied.append(SuppliedField(
            name, str(info.get("label", name.replace("_", " ").capitalize())),
            str(info.get("help", "")), name in iterated,
            name in guarded and name not in (printed - guarded) and name not in iterated,
            str(info.get("about", PATIENT))))
    if any(f.startswith("criteria.") for f in tracker_fields) or "criteria" in {
            n.iter.name for n in tree.find_all(nodes.For) if isinstance(n.iter, nodes.Name)}:
        info = helps.get("evidence", {})
        supplied.append(SuppliedField("evidence", str(info.get("label", "Evidence")),
                                      str(info.get("help", "")), False, False,
                                      str(info.get("about", PATIENT))))
    return TemplateFields(kind, path, sorted(tracker_fields), supplied)


# --- where in a template: the words every reader of one uses

_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def clipped(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def where_in_template(source: str | None, lineno: int | None) -> str:
    """Where in the template: the tags of the paragraph (a line of the source) at lineno."""
    lines = (source or "").split("\n")
    if not lineno or not 0 < lineno <= len(lines):
        return ""
    text = html.unescape(re.sub(r"<[^>]+>", "", lines[lineno - 1])).strip()
    tags = list(dict.fromkeys(_TAG.findall(text)))
    if tags:
        return "at " + ", ".join(clipped(tag) for tag in tags[:3]) + (
            " ..." if len(tags) > 3 else "")
    return f'in the paragraph "{clipped(text)}"' if text else ""


def syntax_problem(error: TemplateSyntaxError) -> str:
    return f"has a mistake in a tag: {(error.message or 'Jinja cannot read it').rstrip('.')}"


def syntax_where(error: TemplateSyntaxError, source: str | None) -> str:
    if (error.message or "").lower().startswith("unexpected end of template"):
        return ""  # the last line says nothing; the message names the block left open
    return where_in_template(source, error.lineno)


def other_file_problem(name: object) -> str:
    """name: as the tag gives it, a text or (parsed) a node holding one."""
    name = getattr(name, "value", name)
    shown = f" '{clipped(name, 40)}'" if isinstance(name, str) else ""
    return (f"reads another file{shown} (include, import or extends): a letter template "
            "must hold all its own text; copy that text in instead")
