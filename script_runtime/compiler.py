"""Restricted compilation: parse, check the policy, `compile_restricted`, and cache by source hash."""

from __future__ import annotations

import ast
import hashlib
import re
from collections import OrderedDict
from types import CodeType
from typing import Any, Literal, NamedTuple, cast

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer

from script_runtime.errors import Problem
from script_runtime.policy import Policy
from script_runtime.runstate import SCRIPT_FILENAME as FILENAME

Mode = Literal["exec", "eval"]

_ERROR_RE = re.compile(r"^Line (\d+|None):(\d+|None): (.*)$", re.DOTALL)
_NAME_RE = re.compile(r'"([^"]+)"')
_GUARDED_BINOPS: dict[type[ast.operator], str] = {
    ast.Mult: "_mul_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
}


class CompileFailure(Exception):
    """Compilation found problems; `problems` holds them all (compile or policy kind)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class ScriptTransformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer plus our policy: allowlisted imports, no classes or
    decorators, forbidden builtins, guarded `x[k] op= v`, and size-guarded `*`, `**`, `<<`."""

    policy: Policy  # set on a per-policy subclass by `_transformer_for`

    def error(self, node: ast.AST, info: str) -> None:
        """Record a problem with line and column, in a form `_parse_error` reads back."""
        line = getattr(node, "lineno", None)
        column = getattr(node, "col_offset", None)
        if isinstance(node, ast.Attribute) and node.end_col_offset is not None:
            column = node.end_col_offset - len(node.attr)  # point at the attribute name
        self.errors.append(f"Line {line}:{column}: {info}")

    def visit_Module(self, node: ast.Module) -> Any:
        """Collect the names the script binds before transforming it."""
        self._bound = _bound_names(node)
        return super().visit_Module(node)

    def visit_Expression(self, node: ast.Expression) -> Any:
        """Collect bound names (walrus, comprehension targets) in eval mode too."""
        self._bound = _bound_names(node)
        return super().visit_Expression(node)

    def visit_Name(self, node: ast.Name) -> Any:
        """Refuse forbidden builtins (open, type, exec...) unless the script binds that name."""
        bound: set[str] = getattr(self, "_bound", set())
        if node.id in self.policy.forbidden_names and node.id not in bound:
            self.error(node, f'"{node.id}" is not allowed in scripts.')
        return super().visit_Name(node)

    def visit_Import(self, node: ast.Import) -> Any:
        """Allow `import m` / `import m as x` for allowlisted modules only."""
        for alias in node.names:
            self._check_module(node, alias.name)
        return super().visit_Import(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        """Allow `from m import x` for allowlisted modules only, never relative imports."""
        if node.level:
            self.error(
                node, f'"{"." * node.level}{node.module or ""}" relative imports are not allowed.'
            )
        else:
            self._check_module(node, node.module or "")
        return super().visit_ImportFrom(node)

    def _check_module(self, node: ast.AST, module: str) -> None:
        if module not in self.policy.modules:
            allowed = ", ".join(self.policy.modules)
            self.error(
                node, f'"{module}": importing this module is not allowed (allowed: {allowed}).'
            )

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        """Refuse class definitions: scripts are data transformations, not object models."""
        self.error(node, f'"{node.name}": class definitions are not allowed in scripts.')
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        """Refuse decorators; otherwise as RestrictedPython."""
        if node.decorator_list:
            self.error(node, f'"{node.name}": decorators are not allowed in scripts.')
        return super().visit_FunctionDef(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        """Route `*`, `**` and `<<` through guards that refuse results over value_bytes."""
        node = self.node_contents_visit(node)
        guard = _GUARDED_BINOPS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(guard, ast.Load()), args=[node.left, node.right], keywords=[])
        ast.copy_location(call, node)
        return ast.fix_missing_locations(call)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        """Allow `x[k] op= v` (counts[k] += 1) through a guarded helper; slices stay refused."""
        target = node.target
        if not isinstance(target, ast.Subscript):
            return super().visit_AugAssign(node)
        if any(isinstance(n, ast.Slice) for n in ast.walk(target.slice)):
            self.error(node, "Augmented assignment of slices is not allowed.")
            return node
        args = [
            self.visit(target.value),
            self.visit(target.slice),
            ast.Constant(IOPERATOR_TO_STR[type(node.op)]),
            self.visit(node.value),
        ]
        call = ast.Call(func=ast.Name("_inplace_item_", ast.Load()), args=args, keywords=[])
        statement = ast.Expr(call)
        ast.copy_location(statement, node)
        ast.fix_missing_locations(statement)
        return statement


def _bound_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


_TRANSFORMERS: dict[Policy, type[ScriptTransformer]] = {}


def _transformer_for(policy: Policy) -> type[ScriptTransformer]:
    cls = _TRANSFORMERS.get(policy)
    if cls is None:
        cls = type("PolicyTransformer", (ScriptTransformer,), {"policy": policy})
        _TRANSFORMERS[policy] = cls
    return cls


def _parse_error(text: str) -> Problem:
    match = _ERROR_RE.match(text)
    if match is None:
        return Problem(None, None, text, "policy")
    line, column, message = match.groups()
    name = _NAME_RE.search(message)
    return Problem(
        int(line) if line != "None" else None,
        int(column) if column != "None" else None,
        message,
        "policy",
        name.group(1) if name else None,
    )


class Compiled(NamedTuple):
    """Restricted code plus the names its import statements bind (not task data)."""

    code: CodeType
    imported: frozenset[str]
    bound: frozenset[str]


def _imported_names(tree: ast.AST) -> frozenset[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
    return frozenset(names)


def compile_source(source: str, mode: Mode, policy: Policy) -> Compiled:
    """Compile user text with `compile_restricted`, or raise CompileFailure with every problem."""
    if len(source.encode("utf-8", "surrogatepass")) > policy.source_bytes:
        message = f"the script is longer than source_bytes={policy.source_bytes}"
        raise CompileFailure([Problem(None, None, message, "compile", "source_bytes")])
    try:
        tree = cast(ast.Module | ast.Expression, ast.parse(source, FILENAME, mode))
    except SyntaxError as exc:
        column = exc.offset - 1 if exc.offset else None
        raise CompileFailure(
            [Problem(exc.lineno, column, f"SyntaxError: {exc.msg}", "compile")]
        ) from None
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        raise CompileFailure([_too_complex(exc)]) from None
    imported = _imported_names(tree)
    bound = _bound_names(tree)
    try:
        compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
        result = compiler(tree, FILENAME, policy=_transformer_for(policy))
    except SyntaxError as exc:
        raise CompileFailure(
            [Problem(exc.lineno, None, f"SyntaxError: {exc.msg}", "compile")]
        ) from None
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        raise CompileFailure([_too_complex(exc)]) from None
    if result.errors or result.code is None:
        problems = sorted(
            (_parse_error(e) for e in result.errors), key=lambda p: (p.line or 0, p.column or 0)
        )
        raise CompileFailure(problems)
    return Compiled(result.code, imported, frozenset(bound))


def _too_complex(exc: BaseException) -> Problem:
    del exc  # RecursionError, or MemoryError from the parser's own stack ("too complex")
    message = "the script is too deeply nested or too large to compile"
    return Problem(None, None, message, "compile", "recursion_depth")


def check_source(source: str, mode: Mode, policy: Policy) -> list[Problem]:
    """Return all problems of `source` without running it (empty list when it compiles)."""
    try:
        compile_source(source, mode, policy)
    except CompileFailure as failure:
        return failure.problems
    return []


class CodeCache:
    """A bounded LRU of compiled code by source hash; `compilations` counts real compiles."""

    def __init__(self, policy: Policy, size: int = 256) -> None:
        self.policy = policy
        self.size = size
        self.compilations = 0
        self._entries: OrderedDict[bytes, Compiled | list[Problem]] = OrderedDict()
        self._last: tuple[Mode, str, Compiled] | None = None

    def get(self, source: str, mode: Mode) -> Compiled:
        """Return the compiled code for `source`, compiling at most once per distinct source."""
        last = self._last
        if last is not None and last[0] == mode and last[1] == source:
            return last[2]  # the same script again: a string compare instead of a hash
        key = hashlib.blake2b(f"{mode}\0{source}".encode("utf-8", "surrogatepass")).digest()
        entry = self._entries.get(key)
        if entry is None:
            self.compilations += 1
            try:
                entry = compile_source(source, mode, self.policy)
            except CompileFailure as failure:
                entry = failure.problems
            self._entries[key] = entry
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        if isinstance(entry, list):
            raise CompileFailure(entry)
        self._last = (mode, source, entry)
        return entry
