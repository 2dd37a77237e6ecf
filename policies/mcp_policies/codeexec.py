"""Which MCPServers run caller-supplied code: recognised by the image they run, never by
their name, and failing closed for an image nobody has described.

The catalog states, for every image the project builds, which of its tools run the
caller's code (components/catalog.py `code_tools`, images in components/versions.py
SERVER_IMAGES; tests/test_policies_facts.py ties this copy to them). An MCPServer whose
image is one of them executes code while one of those tools is published (its
MCPToolConfig toolsFilter, or every tool without one). An image the facts do not know
counts as code-executing unless the MCPServer declares itself with the annotation
`mcp-datascience.finetunings.ai/executes-code: "true"` or `"false"` (the program writes
it for every server, from the server's own `code_tools`). A declaration can add code
execution to a known image, never take it away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

from .kube import (
    EXECUTES_CODE_ANNOTATION,
    MCP_TOOL_CONFIG,
    annotations,
    as_dict,
    as_list,
    get,
    namespace_of,
    parse_bool,
    parse_image,
)
from .stackview import StackView

# Image repository (its last path segment under any registry) -> tools that run code.
SERVER_IMAGE_CODE_TOOLS: dict[str, list[str]] = {
    "hf-mcp-server": [],
    "dataset-viewer-mcp": [],
    "mcp-server-ds": ["run_script"],
    "pandas-mcp-server": ["run_pandas_code_tool"],
    "mcp-server-datahub": [],
    "penrose-mcp": [],
    "ckan-mcp-server": [],
    "treasury-fiscaldata-mcp-server": [],
    "earthdata-mcp-server": [],
}

CODE_FACTS_CONFIG = {
    "serverImages": {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": "Image repository name (the last path segment, any registry or tag) -> its tools that run "
        "caller-supplied code ([] for none): the catalog's facts. An MCPServer running an image not listed counts "
        f"as code-executing unless annotated {EXECUTES_CODE_ANNOTATION}: 'true' or 'false'.",
        "default": SERVER_IMAGE_CODE_TOOLS,
    }
}

ANY_TOOL = "*"  # declared code-executing: every tool may run code
UNKNOWN_IMAGE = "(unknown image)"


def _image_name(server: PolicyResource) -> str | None:
    try:
        image = get(server.props, "spec", "image")
    except UnknownValueError:
        return None  # unknown during preview: judged by its declaration, failing closed without one
    if not isinstance(image, str) or not image:
        return None
    return parse_image(image).repository.rsplit("/", 1)[-1]


def _published_tools(view: StackView, server: PolicyResource) -> set[str] | None:
    """Tools the server publishes, or None for all of them."""
    ref = get(server.props, "spec", "toolConfigRef", "name")
    if not ref:
        return None
    config = view.find(MCP_TOOL_CONFIG, namespace_of(server.props), str(ref))
    if config is None:
        return None
    tools = as_list(get(config.props, "spec", "toolsFilter"))
    return {str(t) for t in tools} if tools else None


def code_tools_enabled(view: StackView, server: PolicyResource, images: Mapping[str, Sequence[str]]) -> list[str]:
    """Why the server executes caller-supplied code: its published code tools, [ANY_TOOL]
    when declared so, [UNKNOWN_IMAGE] for an undeclared unknown image; [] when it does not."""
    declared = parse_bool(annotations(server.props).get(EXECUTES_CODE_ANNOTATION))
    name = _image_name(server)
    facts = as_dict(images)
    if name not in facts:
        if declared is None:
            return [UNKNOWN_IMAGE]
        return [ANY_TOOL] if declared else []
    published = _published_tools(view, server)
    tools = [str(t) for t in as_list(facts[name]) if published is None or t in published]
    return tools or ([ANY_TOOL] if declared else [])


def describe_tools(tools: Sequence[str]) -> str:
    if list(tools) == [UNKNOWN_IMAGE]:
        return (
            f"runs an image the catalog does not describe, so it counts as running caller-supplied code "
            f"(declare it with the annotation {EXECUTES_CODE_ANNOTATION}: 'true' or 'false')"
        )
    return f"runs caller-supplied code (tools {list(tools)})"


def executing_servers(view: StackView, images: Mapping[str, Sequence[str]]) -> list[tuple[PolicyResource, list[str]]]:
    """(MCPServer, why) for every MCPServer of the stack that executes caller-supplied code."""
    out = []
    for server in view.mcp_servers:
        tools = code_tools_enabled(view, server, images)
        if tools:
            out.append((server, tools))
    return out
