"""The documentation page: server-rendered from the OpenAPI document inside the app's layout,
no scripts; its styles are in app.css (`.api-docs`)."""

from __future__ import annotations

import json
from typing import Any

from flask import render_template
from markupsafe import Markup


def _schema(doc: dict[str, Any], schema: dict[str, Any]) -> Markup:
    ref = schema.get("$ref", "")
    name = ref.rsplit("/", 1)[-1]
    if name:
        resolved = doc["components"]["schemas"].get(name, {})
        body = json.dumps(resolved, indent=2, ensure_ascii=False)
        return Markup("<p>Schema <code>{}</code></p><pre>{}</pre>").format(name, body)
    return Markup("<pre>{}</pre>").format(json.dumps(schema, indent=2, ensure_ascii=False))


def _operation(doc: dict[str, Any], path: str, method: str, op: dict[str, Any]) -> Markup:
    parts = [
        Markup(
            '<details id="{}"><summary><span class="m {}">{}</span> <code>{}</code> — {}</summary>'
        ).format(op["operationId"], method, method.upper(), path, op.get("summary", ""))
    ]
    if op.get("parameters"):
        rows = Markup("").join(
            Markup("<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>").format(
                p["name"],
                p["in"],
                "yes" if p.get("required") else "no",
                json.dumps(p.get("schema", {}), ensure_ascii=False),
            )
            for p in op["parameters"]
        )
        parts.append(
            Markup("<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th>")
            + Markup("<th>schema</th></tr>{}</table>").format(rows)
        )
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        parts.append(Markup("<h4>Request body (JSON)</h4>") + _schema(doc, body["schema"]))
    parts.append(Markup("<h4>Responses</h4><ul>"))
    for code, response in op["responses"].items():
        parts.append(Markup("<li><b>{}</b> {}</li>").format(code, response["description"]))
    parts.append(Markup("</ul>"))
    success: dict[str, Any] = next((r for c, r in op["responses"].items() if c.startswith("2")), {})
    content = success.get("content", {}).get("application/json")
    if content:
        parts.append(Markup("<h4>Success body</h4>") + _schema(doc, content["schema"]))
    parts.append(Markup("</details>"))
    return Markup("").join(parts)


def render_docs(doc: dict[str, Any]) -> str:
    """The page in the app's layout (header and navigation): every operation, its parameters,
    bodies and responses."""
    by_tag: dict[str, list[Markup]] = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            by_tag.setdefault(op["tags"][0], []).append(_operation(doc, path, method, op))
    sections = Markup("").join(
        Markup("<h2>{}</h2>").format(tag) + Markup("").join(ops) for tag, ops in by_tag.items()
    )
    return render_template("api_docs.html", info=doc["info"], doc=doc, sections=sections)
