"""Filling a template: the hardened sandbox a letter is rendered in, and its limits.

Rendering is sandboxed (a template cannot reach Python internals), escapes
every value (autoescape: "Smith & Sons <LLC>" prints as typed) and is strict:
a missing value never becomes a blank in a letter. Instead one rendering pass
collects every field that is missing and MissingFieldsError names each with
where to fill it.

A client template is input like any other file: broken or hostile. Whatever
stops it (not a .docx, a mistake in a tag, a field patoolkit does not
provide, an error while filling, a limit) is a BrokenTemplateError naming
the template, the problem in words and the tag where it happened, never a
value of the letter (it could be a patient's). The limits below hold per
letter. They are checked by the sandbox itself as the template runs (every
field lookup, call, operator, filter, loop step and printed value), not by
a signal or a second thread, so they hold in a dashboard's kernel thread and
on Windows as well; a text or list is refused before it is made where its
size can be told in advance ('x' * 10**9), and as soon as it is made
otherwise. The limits are read here when a letter is filled: a change to one
(a test's monkeypatch) is made on this module.
"""

from __future__ import annotations

import inspect
import io
import math
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any

from jinja2 import FunctionLoader, StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment
from jinja2.utils import missing as missing_value

from ..errors import BrokenTemplateError, PAToolkitError
from .context import Fields, MissingField, MissingFieldsError
from .templates import (
    NAMESPACES,
    clipped,
    opened_template,
    other_file_problem,
    syntax_problem,
    syntax_where,
    where_in_template,
)

# Limits on one letter made from a template (README, "For the consultant adapting
# it to a client"). A bundled letter takes about 20 ms and 10,000 characters of
# Word XML: each limit is hundreds of times what a real letter needs, and far under
# what would hang a dashboard or fill its memory.
MAX_RENDER_SECONDS = 10.0  # filling every part of one letter
MAX_LETTER_CHARS = 20_000_000  # the Word XML a letter's template prints, all parts
MAX_VALUE_CHARS = 1_000_000  # any one text or list a template builds or prints
MAX_NUMBER_DIGITS = 4_300  # any number a template computes (Python prints no longer)
MAX_CALL_DEPTH = 50  # macros calling macros; a deeper chain is one calling itself


class _CachingEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, compiling each distinct template part once.

    docxtpl calls from_string for every part of every letter (body, header,
    footer, each document property); the parts of one template are the same
    text every time, and compiling them was most of a letter's cost.
    """

    CACHE_SIZE = 256

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._compiled: dict[str, Any] = {}

    def from_string(self, source: Any, globals: Any = None,
                    template_class: Any = None) -> Any:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        template = self._compiled.get(source)
        if template is None:
            if len(self._compiled) >= self.CACHE_SIZE:
                self._compiled.clear()
            template = self._compiled[source] = super().from_string(source)
        return template


@dataclass
class _Use:
    """A value the template used that is not there: whose it was, its name, which tag."""

    owner: object
    name: object
    where: str  # the tag, as where_in_template says it
    written: bool  # the name is spelled in the template, so not a patient's value


@dataclass
class _Budget:
    """What one letter may still spend; the sandbox's hooks read it as the template runs."""

    deadline: float  # time.monotonic()
    chars: int = 0  # Word XML printed so far, every part
    depth: int = 0  # macros now running inside one another


class _Refused(Exception):
    """A template went over a limit or reached for another file; words say which."""

    def __init__(self, words: str, lineno: int | None = None):
        super().__init__(words)
        self.words, self.lineno = words, lineno


_FOUND: ContextVar[list[_Use] | None] = ContextVar("_FOUND", default=None)
_PART: ContextVar[str | None] = ContextVar("_PART", default=None)  # the part being filled
_BUDGET: ContextVar[_Budget | None] = ContextVar("_BUDGET", default=None)
_FROM_STRING = "<template>"  # the file name Jinja gives a template made from a string


def _running_line(frame: Any) -> int | None:
    """The template line that frame (or the nearest template frame under it) is running."""
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            return int(template.get_corresponding_lineno(frame.f_lineno))
        frame = frame.f_back
    return None


def _failed_line(error: BaseException) -> int | None:
    """The template line an error was raised on (Jinja rewrites tracebacks to say it)."""
    if isinstance(error, TemplateSyntaxError):
        return error.lineno
    if isinstance(error, _Refused) and error.lineno:
        return error.lineno
    lineno, trace = None, error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == _FROM_STRING:
            lineno = trace.tb_lineno  # the innermost wins
        trace = trace.tb_next
    return lineno


# --- limits: checked by the sandbox as the template runs

def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise _Refused(f"takes longer than {MAX_RENDER_SECONDS:g} seconds to fill, the limit "
                       "for one letter (MAX_RENDER_SECONDS): a loop that never ends?")


_CONTAINERS = (list, tuple, dict, set, frozenset)
_SIZED = (*_CONTAINERS, str, range)  # what join can count the items of


def _countable(items: Any) -> Any:
    """items as a list if it is a generator (map, select), so join can count them first."""
    if isinstance(items, (*_SIZED, Undefined)):
        return items
    try:
        return list(items)
    except TypeError:  # not iterable at all: join will say so
        return items


def _digits(number: int) -> int:
    return int(number.bit_length() * 0.30103) + 1


def _size(value: object) -> int:
    """About how many characters value prints as; counting stops soon after the limit."""
    total, stack = 0, [value]
    while stack and total <= MAX_VALUE_CHARS:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, int):
            total += _digits(item)
        elif isinstance(item, _CONTAINERS):
            total += 2 + 2 * len(item)  # brackets, commas: and no list is counted for free
            if total <= MAX_VALUE_CHARS:
                stack.extend(item)
                if isinstance(item, dict):
                    stack.extend(item.values())
        else:
            total += 8  # a date, a float, None, a macro: short when printed
    return total


def _too_big() -> _Refused:
    return _Refused(f"builds a text or list of more than {MAX_VALUE_CHARS:,} characters, the "
                    "limit for one value (MAX_VALUE_CHARS)")


def _too_long() -> _Refused:
    return _Refused(f"computes a number of more than {MAX_NUMBER_DIGITS:,} digits, the "
                    "limit (MAX_NUMBER_DIGITS)")


def _bounded(value: Any) -> Any:
    """value, if it is within the limits for one value."""
    if isinstance(value, int) and _digits(value) > MAX_NUMBER_DIGITS:
        raise _too_long()
    if _size(value) > MAX_VALUE_CHARS:
        raise _too_big()
    return value


def _check_sizes(args: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        _bounded(value)


# methods of a text, and filters, whose result can be far longer than what they are given
_GROWING = frozenset({"replace", "indent", "center", "ljust", "rjust", "zfill", "expandtabs",
                      "wordwrap", "join", "format", "format_map", "batch", "slice"})
_FORMATTING = frozenset({"format", "format_map"})


def _check_growth(name: str, first: Any, rest: Sequence[Any]) -> None:
    """Refuse a growing method or filter whose result would be over the limit, unmade.

    first is the text (or list, for join and batch) it works on; rest its arguments.
    """
    if name not in _GROWING:
        return
    if name in _FORMATTING and isinstance(first, str):
        _check_widths(first, rest)
    if name == "join":  # items joined by a separator: count each separator
        separator = next((value for value in rest if isinstance(value, str)), "")
        count = len(first) if isinstance(first, _SIZED) else 0
        grown = _size(first) + count * len(separator)
    elif name == "replace" and isinstance(first, str) and len(rest) >= 2 and all(
            isinstance(value, str) for value in rest[:2]):
        old, new = rest[0], rest[1]
        count = first.count(old) if old else len(first) + 1
        grown = len(first) + count * max(len(new) - len(old), 0)
    else:  # a width, count or prefix applied to each line at most
        lines = first.count("\n") + 1 if isinstance(first, str) else 1
        widest = max([value for value in rest if isinstance(value, int)]
                     + [len(value) for value in rest if isinstance(value, str)] + [0])
        grown = _size(first) + lines * widest
    if grown > MAX_VALUE_CHARS:
        raise _too_big()


def _check_widths(form: str, args: object) -> None:
    """'%999999999s' and '{:>999999999}' would make a text that long: refuse them unmade."""
    numbers = [int(run) if len(run) < 19 else sys.maxsize for run in re.findall(r"\d{7,}", form)]
    if "*" in form or re.search(r":[^{}]*\{", form):  # a width given as an argument:
        # '%*s' % (10**9, 'x'), '{:>{w}}'.format('x', w=10**9)
        values = args if isinstance(args, list | tuple) else [args]
        numbers += [value for value in values if isinstance(value, int)]
        for value in values:
            if isinstance(value, Mapping):
                numbers += [item for item in value.values() if isinstance(item, int)]
    if any(number > MAX_VALUE_CHARS for number in numbers):
        raise _too_big()


def _check_operands(operator: str, left: Any, right: Any) -> None:
    """Refuse 'x' * 10**9, 10**10**10 and the like before they are computed."""
    if operator == "*":
        for sequence, times in ((left, right), (right, left)):
            if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                if times > 0 and _size(sequence) * times > MAX_VALUE_CHARS:
                    raise _too_big()
                return
        if isinstance(left, int) and isinstance(right, int) and (
                _digits(left) + _digits(right) > MAX_NUMBER_DIGITS + 1):
            raise _too_long()
    elif operator == "**" and isinstance(left, int) and isinstance(right, int):
        if abs(left) > 1 and right > 0 and right * math.log10(abs(left)) > MAX_NUMBER_DIGITS:
            raise _too_long()
    elif operator == "%" and isinstance(left, str):
        _check_widths(left, right)
    _check_sizes((left, right), {})


def _printed(value: Any) -> Any:
    """Every value a template prints passes here first (Jinja's finalize)."""
    _tick()
    return _bounded(value)


def _stepping(iterable: Any) -> Iterator[Any]:
    for item in iterable:
        _tick()
        yield item


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A Jinja filter held to the limits: checked before it runs and what it returns."""
    passes_first = hasattr(function, "jinja_pass_arg")  # the context, not a value

    @wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        skip = 1 if passes_first else 0
        if name == "join" and len(args) > skip:
            args = (*args[:skip], _countable(args[skip]), *args[skip + 1:])
        values = args[skip:]
        _check_sizes(values, kwargs)
        if values:
            _check_growth(name, values[0], [*values[1:], *kwargs.values()])
        return _bounded(function(*args, **kwargs))

    return bounded


def _no_other_file(name: str) -> None:
    raise _Refused(other_file_problem(name))


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's compiler, with each loop's steps and each ~ join passing the limits."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._wrap: dict[int, str] = {}  # id(node): what to call on its value

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        wrapper = self._wrap.pop(id(node), None)
        if wrapper is None:
            return super().visit(node, *args, **kwargs)
        self.write(f"{wrapper}(")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self._wrap[id(node.iter)] = "environment.iterate"
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        for part in node.nodes:
            self._wrap[id(part)] = "environment.joining"
        self.write("environment.joined(")
        super().visit_Concat(node, frame)
        self.write(")")


class _LetterEnvironment(_CachingEnvironment):
    """The sandbox letters are filled in, holding each letter to the limits.

    Every hook checks the clock; values are measured where they could grow.
    Notes which part of the letter is being filled, so an error can name its tag.
    """

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any):
        super().__init__(finalize=_printed, loader=FunctionLoader(_no_other_file), **options)
        self.filters = {name: _bounded_filter(name, function)
                        for name, function in self.filters.items()}

    def from_string(self, source: Any, globals: Any = None,
                    template_class: Any = None) -> Any:
        if isinstance(source, str):
            _PART.set(source)
        return super().from_string(source, globals, template_class)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _tick()
        method = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
        text = getattr(method, "__self__", None)
        if isinstance(text, str):
            name = getattr(method, "__name__", "")
            if name == "join" and args:
                args = (_countable(args[0]), *args[1:])
                _check_growth(name, args[0], [text])
            else:
                _check_growth(name, text, [*args, *kwargs.values()])
        _check_sizes(args, kwargs)
        budget = _BUDGET.get()
        if budget is None:
            return _bounded(super().call(context, obj, *args, **kwargs))
        if budget.depth >= MAX_CALL_DEPTH:
            raise _Refused(f"calls macros more than {MAX_CALL_DEPTH} deep, the limit "
                           "(MAX_CALL_DEPTH): a macro that calls itself without end?")
        budget.depth += 1
        try:
            return _bounded(super().call(context, obj, *args, **kwargs))
        finally:
            budget.depth -= 1

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        _check_operands(operator, left, right)
        return _bounded(super().call_binop(context, operator, left, right))

    def iterate(self, iterable: Any) -> Any:
        """The steps of a {% for %} loop (the code generator wraps its iterable here)."""
        _tick()
        return iterable if isinstance(iterable, Undefined) else _stepping(iterable)

    @staticmethod
    def joining(value: Any) -> Any:
        """Each operand of ~, before it is made a text."""
        return _bounded(value)

    @staticmethod
    def joined(text: Any) -> Any:
        """What ~ made."""
        _tick()
        return _bounded(text)

    def concat(self, pieces: Iterable[str]) -> str:  # type: ignore[override]
        """A part of the letter as printed, counted against the letter's limit."""
        budget = _BUDGET.get()
        if budget is None:
            return "".join(pieces)
        kept = []
        for piece in pieces:
            budget.chars += len(piece)
            if budget.chars > MAX_LETTER_CHARS:
                raise _Refused(f"prints more than {MAX_LETTER_CHARS:,} characters of Word XML, "
                               "the limit for one letter (MAX_LETTER_CHARS)",
                               _running_line(getattr(pieces, "gi_frame", None)))
            _tick()
            kept.append(piece)
        return "".join(kept)


# what goes wrong while a template fills a letter, in words; never the error's own
# text, which can quote a value of the letter (a KeyError names the key it missed)
_FAILURES: tuple[tuple[type[BaseException], str], ...] = (
    (SecurityError, "reaches for something a letter template may not use: Python "
                    "internals, or a method that changes the letter's values (unsafe)"),
    (UndefinedError, "uses a value that is not there (a field spelled wrong, or left empty) "
                     "where one is needed: calls it, computes with it or looks inside it"),
    (RecursionError, "calls a macro from itself without end"),
    (ZeroDivisionError, "divides by zero"),
    (KeyError, "looks up a key that is not there"),
    (IndexError, "takes an item past the end of a list or text"),
    (AttributeError, "asks a value for something it does not have"),
    (TypeError, "combines values of kinds that do not go together (text with a number, or "
                "a call of something that is not a function)"),
    (OverflowError, "computes a number too large"),
    (ValueError, "converts a value that does not fit (text read as a number?)"),
    (MemoryError, "needs more memory than the computer has"),
)


def _failure_words(error: BaseException) -> str:
    if isinstance(error, _Refused):
        return error.words
    if isinstance(error, TemplateSyntaxError):
        return syntax_problem(error)
    if isinstance(error, OverflowError) and "MAX_RANGE" in str(error):
        return f"asks for a range of more than {MAX_RANGE:,} numbers, the sandbox's limit"
    words = next((words for kind, words in _FAILURES if isinstance(error, kind)), None)
    return words or f"fails while filling a letter ({type(error).__name__})"


def _broken(error: BaseException, path: Path | None) -> BrokenTemplateError:
    where = (syntax_where(error, _PART.get()) if isinstance(error, TemplateSyntaxError)
             else where_in_template(_PART.get(), _failed_line(error)))
    return BrokenTemplateError(path, _failure_words(error), where)


class _Collecting(StrictUndefined):
    """StrictUndefined that notes each use of a missing value instead of stopping at the first.

    The notes go to the list of the render in progress (a context variable, so one
    compiled template serves every letter); the letter made in that pass is thrown
    away when anything was noted. What the sandbox refused (__class__) is raised.
    """

    def _note(self) -> None:
        found = _FOUND.get()
        lineno = _running_line(inspect.currentframe())
        if found is None or lineno is None or self._undefined_exception is not UndefinedError:
            # outside render_letter; or Jinja folding constants as it compiles, which
            # must not make "" of {{ {}['a'] }} for every later letter; or unsafe
            self._fail_with_undefined_error()
        source, name = _PART.get(), self._undefined_name
        found.append(_Use(self._undefined_obj, name, where_in_template(source, lineno),
                          isinstance(name, str | int) and str(name) in (source or "")))

    def __str__(self) -> str:  # type: ignore[override]
        self._note()
        return ""

    def __iter__(self):  # type: ignore[no-untyped-def, override]
        self._note()
        return iter(())

    def __bool__(self) -> bool:  # type: ignore[override]
        self._note()
        return False

    def __len__(self) -> int:  # type: ignore[override]
        self._note()
        return 0

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        self._note()
        return self

    __hash__ = Undefined.__hash__  # type: ignore[assignment]


@lru_cache(maxsize=1)
def _rendering_environment() -> _LetterEnvironment:
    return _LetterEnvironment(undefined=_Collecting, autoescape=True)


def _sorted_uses(found: Iterable[_Use], context: Mapping[str, Any]
                 ) -> tuple[list[MissingField], list[tuple[str, str]]]:
    """The fields a person can fill, and the template's own mistakes (words, where)."""
    missing: dict[str, MissingField] = {}
    mistakes: dict[tuple[str, str], None] = {}
    to_supply: Callable[[str], str] = context["_to_supply"]
    for use in found:
        owner, name = use.owner, use.name
        if isinstance(owner, Fields):
            namespace = next((key for key in NAMESPACES if context.get(key) is owner), None)
            if name not in owner._known:
                which = (f"a field '{clipped(str(name), 40)}' of {namespace or 'a Criteria item'}"
                         if use.written else "a field whose name is computed from a value")
                fields = ", ".join(sorted(owner._known))
                mistakes[(f"uses {which} that patoolkit does not provide (it provides "
                          f"{fields}; `patoolkit templates` shows what each letter uses)",
                          use.where)] = None
                continue
            if namespace is None and any(owner is item for item in context.get("criteria", [])):
                label = f"evidence[{owner.get('item')}]"
            else:
                label = f"{namespace or '?'}.{name}"
            missing.setdefault(label, MissingField(label, owner.where(str(name))))
        elif owner is missing_value and isinstance(name, str) and use.written:
            missing.setdefault(name, MissingField(name, to_supply(name)))  # a bare name
        elif name is None:  # Jinja's own: an empty list's first item, a parameter not given
            mistakes[("uses a value that is not there", use.where)] = None
        else:  # a key or attribute a text, list or number does not have
            which = f"'{clipped(str(name), 40)}'" if use.written else "a key computed from a value"
            mistakes[(f"looks up {which} on a value that does not have it", use.where)] = None
    return list(missing.values()), list(mistakes)


def render_letter(template: Path | bytes, context: Mapping[str, Any], request_id: str = "",
                  kind: str = "", path: Path | None = None) -> bytes:
    """The letter as .docx bytes, or MissingFieldsError naming every empty field.

    A template that cannot make a letter raises BrokenTemplateError naming path (or
    template, when it is a path); so does one over a limit (MAX_RENDER_SECONDS, ...).
    """
    from docxtpl import DocxTemplate

    if isinstance(template, bytes):
        source = template
    else:
        path, source = path or Path(template), Path(template).read_bytes()
    found: list[_Use] = []
    values = {key: value for key, value in context.items() if not key.startswith("_")}
    tokens = (_FOUND.set(found), _PART.set(None),
              _BUDGET.set(_Budget(time.monotonic() + MAX_RENDER_SECONDS)))
    try:
        document = opened_template(DocxTemplate(io.BytesIO(source)), path)
        document.render(values, _rendering_environment(), autoescape=True)
    except PAToolkitError:
        raise
    except Exception as error:
        raise _broken(error, path) from None
    finally:
        _FOUND.reset(tokens[0])
        _PART.reset(tokens[1])
        _BUDGET.reset(tokens[2])
    fields, mistakes = _sorted_uses(found, context)
    if mistakes:
        problem = "; ".join(words + (f" ({where})" if where else "")
                            for words, where in mistakes[:-1])
        words, where = mistakes[-1]
        raise BrokenTemplateError(path, (problem + "; " if problem else "") + words, where)
    if fields:
        raise MissingFieldsError(request_id, kind, fields)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def letter_text(docx: bytes | Path) -> str:
    """The words of a .docx in reading order: header, body (tables row by row), footer."""
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = Document(io.BytesIO(docx) if isinstance(docx, bytes) else str(docx))
    lines: list[str] = []

    def walk(container: Any) -> None:
        for block in container.iter_inner_content():
            if isinstance(block, Paragraph):
                lines.append(block.text)
            elif isinstance(block, Table):
                for row in block.rows:
                    lines.append(" | ".join(cell.text for cell in row.cells))

    section = document.sections[0]
    walk(section.header)
    lines.append("")
    walk(document)
    lines.append("")
    walk(section.footer)
    return "\n".join(line.rstrip() for line in lines).strip() + "\n"
