"""The MCP server catalog: facts about each upstream server, not code.

Every fact comes from ../shared/research/mcp-servers.md (upstream sources at the
commits listed there). Ports: `proxy_port` keeps the seed's numbers; `mcp_port` is
where the server itself listens. Images are built by this project from exact upstream
releases (components/versions.py SERVER_IMAGES; images/ holds the recipes).
tests/live starts every server whose recipe installs from PyPI or npm and holds it to
these facts (port, path, tools, sessions, Host policy, probes).

Host policies. Behind the ToolHive proxy an HTTP server receives `Host: mcp-<name>:<port>`
(the backend Service the proxy forwards to), and, for a server with MCP sessions, the
pod address from the second request of a session on (`sessions` in server_spec.py). No
catalog server keeps MCP sessions, so each either checks Host against the backend
Service's name or checks nothing. Either is safe because the NetworkPolicies
(components/mcp_servers.py) let only the server's own proxy reach its port: a Host
check here guards against DNS rebinding from a browser, which cannot reach the pod.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.server_spec import Outputs, Probe, SecretEnv, ServerSpec

HF_TOOLS = ("hub_repo_search", "hub_repo_details", "hf_fs", "create_repo", "hf_jobs", "dynamic_space", "hf_whoami")
# Write tools of the HF server; hidden by default (issue: read-only toolchain).
HF_WRITE_TOOLS = ("create_repo", "hf_jobs", "dynamic_space")
# Data.gov tools that cannot serve catalog.data.gov (reasons at the datagov entry).
DATAGOV_HIDDEN_TOOLS = ("ckan_find_portals", "ckan_get_mqa_quality", "ckan_get_mqa_quality_details", "sparql_query")

CATALOG: dict[str, ServerSpec] = {
    # huggingface/hf-mcp-server (MIT) v0.4.x: stateless streamable HTTP with JSON
    # responses on PORT 3000 (packages/app/src/server/transport/stateless-http-transport.ts).
    # /mcp rejects Host headers not in MCP_ALLOWED_HOSTS (inbound-request-security.ts); the
    # ToolHive proxy sends Host = the backend Service `mcp-<name>`. Callers bring their own
    # HF token as `Authorization: Bearer` (anonymous callers get the read-only search tools).
    # Host policy: MCP_ALLOWED_HOSTS = the backend Service (port ignored); stateless, so
    # every request of a session arrives with that name.
    "huggingface": ServerSpec(
        description="Hugging Face Hub: search and inspect models, datasets, Spaces and papers",
        upstream="https://github.com/huggingface/hf-mcp-server",
        license="MIT",
        built_image="huggingface",
        transport="streamable-http",
        proxy_port=8001,
        mcp_port=3000,
        env={
            "TRANSPORT": "streamableHttpJson",
            "PORT": "{mcp_port}",
            # The npm build's streamableHttp.js entry point reads WEB_APP_PORT, not PORT
            # (images/hf-mcp-server: @llmindset/hf-mcp-server 0.4.23).
            "WEB_APP_PORT": "{mcp_port}",
            "MCP_ALLOWED_HOSTS": "{backend_service}",
            "DISABLE_TOOLS": ",".join(HF_WRITE_TOOLS),
        },
        egress_hosts=(
            "huggingface.co",
            "www.huggingface.co",
            "datasets-server.huggingface.co",
            "*.hf.space",
            "gradio.app",
        ),
        writable_paths=("/tmp",),
        size="small",
        stateless=True,
        caller_token=True,
        tools=HF_TOOLS,
        disabled_tools=HF_WRITE_TOOLS,
        path="/huggingface",
        # No health endpoint, and /mcp fails the Host check for probes: probe the port.
        probe=Probe(kind="tcp"),
    ),
    # privetin/dataset-viewer (MIT) @b1a3404: stdio only, mcp<2 API. Reads
    # HUGGINGFACE_TOKEN (not HF_TOKEN) for private or gated datasets. `get_parquet` writes
    # a file inside the container, useless to a remote client: hidden.
    "dataset-viewer": ServerSpec(
        description="Hugging Face Dataset Viewer API: rows, search, filters, statistics",
        upstream="https://github.com/privetin/dataset-viewer",
        license="MIT",
        built_image="dataset-viewer",
        transport="stdio",
        proxy_port=8008,
        secret_env=(
            SecretEnv(
                credential="hf-token",
                key="token",
                env="HUGGINGFACE_TOKEN",
                optional=True,
                purpose="Hugging Face token for private or gated datasets (Dataset Viewer)",
            ),
        ),
        egress_hosts=("datasets-server.huggingface.co",),
        writable_paths=("/tmp",),
        size="small",
        stateless=False,
        tools=(
            "get_info",
            "get_rows",
            "get_first_rows",
            "search_dataset",
            "filter",
            "get_statistics",
            "get_parquet",
            "validate",
        ),
        disabled_tools=("get_parquet",),
        path="/dataset-viewer",
    ),
    # reading-plus-ai/mcp-server-data-exploration (MIT), PyPI mcp-server-ds 0.1.5 with
    # mcp 1.1.3: stdio only. `run_script` is arbitrary Python exec() (server.py L176-195):
    # no egress, non-root, read-only root, tight limits, auth in front. DataFrames live in
    # process memory shared by every client of the single replica. run_script answers
    # with what the script printed ("print out result: ..."), so a script that saves a
    # figure into OUTPUTS_DIR under a random name prints its URL (docs/workflows.md).
    "data-exploration": ServerSpec(
        description="Data exploration: load CSVs and run Python analysis scripts (pandas, scikit-learn)",
        upstream="https://github.com/reading-plus-ai/mcp-server-data-exploration",
        license="MIT",
        built_image="data-exploration",
        transport="stdio",
        proxy_port=8003,
        writable_paths=("/tmp",),
        size="large",
        stateless=False,
        env={"OUTPUTS_DIR": "{outputs_dir}", "OUTPUTS_BASE_URL": "{outputs_url}"},
        tools=("load_csv", "run_script"),
        code_tools=("run_script",),
        path="/data-explorer",
        outputs=Outputs(
            directory="/tmp/outputs",
            extensions=("png", "svg", "jpg", "jpeg", "html", "csv", "json"),
            naming="the caller's script names each file; only 32-64 hex digit names are served "
            "(the recipe: secrets.token_hex(16))",
        ),
    ),
    # marlonluo2018/pandas-mcp-server (MIT) @d4892fa: stdio only. run_pandas_code_tool
    # exec()s code behind a bypassable blacklist (core/execution.py L125): off by default
    # (PANDAS_MCP_ENABLE_CODE_EXECUTION=false and hidden). It creates its log directory at
    # start-up, on the writable /tmp. generate_chartjs_tool writes
    # <install root>/charts/chart_<type>_<epoch seconds>.html whatever PANDAS_MCP_CHARTS_DIR
    # says (core/chart_generators/base.py _save_chart; config.py only creates that directory
    # at import): the outputs volume is mounted there (install root /opt/pandas-mcp-server,
    # images/pandas-mcp-server), and the image's serve.py renames each chart to an
    # unguessable name and answers its `url`. The HTML loads Chart.js and its datalabels
    # plugin from jsDelivr (core/chart_generators/templates/*_template.html L7-8) and draws
    # with one inline script.
    "pandas": ServerSpec(
        description="pandas: read file metadata, interpret columns, generate charts",
        upstream="https://github.com/marlonluo2018/pandas-mcp-server",
        license="MIT",
        built_image="pandas",
        transport="stdio",
        proxy_port=8004,
        env={
            "PANDAS_MCP_ENABLE_CODE_EXECUTION": "false",
            "PANDAS_MCP_CHARTS_DIR": "{outputs_dir}",
            "PANDAS_MCP_LOG_FILE": "/tmp/logs/mcp_server.log",
            "OUTPUTS_BASE_URL": "{outputs_url}",
        },
        writable_paths=("/tmp",),
        size="large",
        stateless=False,
        tools=("read_metadata_tool", "interpret_column_data", "run_pandas_code_tool", "generate_chartjs_tool"),
        disabled_tools=("run_pandas_code_tool",),
        code_tools=("run_pandas_code_tool",),
        path="/pandas",
        outputs=Outputs(
            directory="/opt/pandas-mcp-server/charts",
            extensions=("html",),
            script_sources=(
                "https://cdn.jsdelivr.net/npm/chart.js",
                "https://cdn.jsdelivr.net/npm/chartjs-plugin-datalabels@2.0.0",
            ),
            naming="upstream writes chart_<bar|line|pie>_<epoch seconds>.html, a guessable name; "
            "images/pandas-mcp-server/serve.py renames each to <32 hex digits>.html",
        ),
    ),
    # acryldata/mcp-server-datahub (Apache-2.0) 0.8.0: shared HTTP mode is stateless
    # streamable HTTP on FASTMCP_PORT 8000 at /mcp; each request carries the caller's
    # DataHub token (the server refuses to start with DATAHUB_GMS_TOKEN set). GET /health
    # does not call GMS. Telemetry to Mixpanel is off (it stalls when blocked).
    # Host policy: none; every request needs a DataHub token that GMS accepts.
    # Tools depend on the DataHub behind it (seen when run): search_documents and
    # grep_documents are listed only while its catalog holds documents
    # (document_tools_middleware.py), get_aspect_history only from DataHub Core 1.4.0
    # (version_requirements.py @min_version); tests/live runs it against a 1.4.0 stand-in.
    "datahub": ServerSpec(
        description="DataHub metadata: search, lineage, schemas, queries, documents (read-only)",
        upstream="https://github.com/acryldata/mcp-server-datahub",
        license="Apache-2.0",
        built_image="datahub",
        transport="streamable-http",
        proxy_port=8005,
        mcp_port=8000,
        env={
            "FASTMCP_HOST": "0.0.0.0",
            "DATAHUB_TELEMETRY_ENABLED": "false",
            "TOOLS_IS_MUTATION_ENABLED": "false",
            "TOOLS_IS_USER_ENABLED": "false",
            "SAVE_DOCUMENT_TOOL_ENABLED": "false",
            "HOME": "/tmp",
        },
        # DATAHUB_GMS_URL is the user's DataHub; the server calls its host.
        required_env=("DATAHUB_GMS_URL",),
        egress_from_env=("DATAHUB_GMS_URL",),
        writable_paths=("/tmp",),
        size="small",
        stateless=True,
        caller_token=True,
        tools=(
            "search",
            "get_lineage",
            "get_lineage_paths_between",
            "get_dataset_queries",
            "get_entities",
            "list_schema_fields",
            "get_aspect_history",
            "search_documents",
            "grep_documents",
        ),
        path="/datahub",
        probe=Probe(kind="http", path="/health"),
    ),
    # servers/penrose-mcp (this repository; upstream bmorphism/penrose-mcp is a stub that
    # returns a fixed SVG). Renders with @penrose/core; SVGs are kept in a per-process
    # cache and served at /outputs/<hash>.svg, so one replica (an output URL rendered on
    # one replica would 404 on another). Host policy: none; no MCP sessions
    # (sessionIdGenerator undefined, src/http/app.js).
    "penrose": ServerSpec(
        description="Penrose: mathematical diagrams from Domain/Substance/Style programs, as SVG",
        upstream="https://github.com/penrose/penrose (engine); servers/penrose-mcp (this repository)",
        license="MIT",
        built_image="penrose",
        transport="streamable-http",
        proxy_port=8006,
        mcp_port=8080,
        env={"PUBLIC_BASE_URL": "{public_url}"},
        writable_paths=("/tmp",),
        size="medium",
        stateless=False,
        tools=("render_diagram", "list_examples", "get_example", "validate_trio"),
        path="/penrose",
        extra_paths=("/outputs/",),
        probe=Probe(kind="http", path="/health"),
    ),
    # ondata/ckan-mcp-server (MIT) 0.4.119: TRANSPORT=http serves POST /mcp, stateless,
    # JSON responses (src/transport/http.ts). Binds 127.0.0.1 unless CKAN_HTTP_HOST is set;
    # refuses to start without CKAN_ALLOWED_DOMAINS; its DNS-rebinding guard compares the
    # Host header *with* port. Host policy: CKAN_HTTP_ALLOWED_HOSTS = the backend Service
    # and port; stateless, so every request arrives with that name.
    # Tools: the catalog names all 20 of 0.4.119 (src/tools/*.ts); four are hidden because
    # with CKAN_ALLOWED_DOMAINS=catalog.data.gov they cannot serve Data.gov:
    # - ckan_find_portals lists ~950 CKAN portals worldwide from datashades.info, a third
    #   party outside the egress list, each of which the domain allowlist then refuses;
    # - ckan_get_mqa_quality(_details) accept only dati.gov.it and ask data.europa.eu
    #   (src/tools/quality.ts ALLOWED_MQA_HOSTS): Italian portal quality scores;
    # - sparql_query checks its endpoint against the same allowlist (validateServerUrl in
    #   src/utils/http.ts), and catalog.data.gov has no SPARQL endpoint: it can only fail.
    "datagov": ServerSpec(
        description="Data.gov catalog (CKAN): search and inspect US government datasets",
        upstream="https://github.com/ondata/ckan-mcp-server",
        license="MIT",
        built_image="datagov",
        transport="streamable-http",
        proxy_port=8007,
        mcp_port=3000,
        env={
            "TRANSPORT": "http",
            "PORT": "{mcp_port}",
            "CKAN_HTTP_HOST": "0.0.0.0",
            "CKAN_ALLOWED_DOMAINS": "catalog.data.gov",
            "CKAN_HTTP_ALLOWED_HOSTS": "{backend_service}:{mcp_port}",
        },
        egress_hosts=("catalog.data.gov",),
        writable_paths=("/tmp",),
        size="small",
        stateless=True,
        tools=(
            "ckan_package_search",
            "ckan_package_show",
            "ckan_find_relevant_datasets",
            "ckan_list_resources",
            "ckan_organization_list",
            "ckan_organization_show",
            "ckan_organization_search",
            "ckan_group_list",
            "ckan_group_show",
            "ckan_group_search",
            "ckan_tag_list",
            "ckan_datastore_search",
            "ckan_datastore_search_sql",
            "ckan_status_show",
            "ckan_catalog_stats",
            "ckan_analyze_datasets",
            "ckan_find_portals",
            "ckan_get_mqa_quality",
            "ckan_get_mqa_quality_details",
            "sparql_query",
        ),
        disabled_tools=DATAGOV_HIDDEN_TOOLS,
        group="gov-data",
        probe=Probe(kind="tcp"),
    ),
    # cyanheads/treasury-fiscaldata-mcp-server (Apache-2.0): HTTP on 3010 at /mcp,
    # stateless sessions; GET /healthz (mcp-ts-core httpTransport.ts). The DuckDB
    # "DataCanvas" keeps dataframes per process, so it stays off to allow replicas.
    # Host policy: none (mcp-ts-core checks Origin only); stateless sessions.
    "treasury": ServerSpec(
        description="US Treasury Fiscal Data: debt, interest rates, exchange rates, any dataset",
        upstream="https://github.com/cyanheads/treasury-fiscaldata-mcp-server",
        license="Apache-2.0",
        built_image="treasury",
        transport="streamable-http",
        proxy_port=8007,
        mcp_port=3010,
        env={
            "MCP_TRANSPORT_TYPE": "http",
            "MCP_HTTP_HOST": "0.0.0.0",
            "MCP_HTTP_PORT": "{mcp_port}",
            "MCP_SESSION_MODE": "stateless",
            "MCP_AUTH_MODE": "none",
            "CANVAS_PROVIDER_TYPE": "none",
            "LOGS_DIR": "/tmp/logs",
        },
        egress_hosts=("api.fiscaldata.treasury.gov",),
        writable_paths=("/tmp",),
        size="medium",
        stateless=True,
        tools=(
            "treasury_list_datasets",
            "treasury_query_dataset",
            "treasury_get_debt",
            "treasury_get_interest_rates",
            "treasury_get_exchange_rates",
        ),
        group="gov-data",
        probe=Probe(kind="http", path="/healthz"),
    ),
    # datalayer/earthdata-mcp-server (BSD-3-Clause) 0.6.0 on PORT 4040, /mcp and GET
    # /healthz (reactor_mcp_server app.py 1.3.2), started by our images/earthdata-mcp-server
    # /serve.py: upstream's `start` answers 421 to every Host but loopback and issues
    # sessions, so it is served stateless with a Host allowlist instead. Host policy:
    # MCP_ALLOWED_HOSTS = the backend Service and port (loopback kept for port-forward).
    # `download` mode writes below the working directory.
    "nasa-cmr": ServerSpec(
        description="NASA Earthdata (CMR): search Earth-science collections and granules",
        upstream="https://github.com/datalayer/earthdata-mcp-server",
        license="BSD-3-Clause",
        built_image="nasa-cmr",
        transport="streamable-http",
        proxy_port=8007,
        mcp_port=4040,
        env={"HOST": "0.0.0.0", "PORT": "{mcp_port}", "MCP_ALLOWED_HOSTS": "{backend_service}:{mcp_port}"},
        egress_hosts=("cmr.earthdata.nasa.gov", "urs.earthdata.nasa.gov", "*.earthdatacloud.nasa.gov"),
        writable_paths=("/tmp",),
        size="medium",
        stateless=True,
        tools=("search_earth_datasets", "search_earth_datagranules", "download_earth_data_granules"),
        group="gov-data",
        probe=Probe(kind="http", path="/healthz"),
    ),
}


@dataclass(frozen=True)
class GroupSpec:
    """Servers published together: one VirtualMCPServer aggregates their tools."""

    description: str
    path: str
    members: tuple[str, ...]


GROUPS: dict[str, GroupSpec] = {
    "gov-data": GroupSpec(
        description="US government open data: Data.gov (CKAN), Treasury Fiscal Data, NASA CMR",
        path="/gov-data",
        members=("datagov", "treasury", "nasa-cmr"),
    ),
}
