"""The flat baseline of `make bench`: a Pulumi program with no code of its own.

It registers, as they are, the resources a run of the real program recorded (type,
name, parent, dependencies, inputs: `offline.flat` writes them to the JSON file named
by config `flat:input`), through the SDK's generic resource classes. No component,
config model or typed `pulumi_kubernetes` class is imported, so what the real program
costs above this is its own code and imports.
"""

import json
from pathlib import Path

import pulumi

created: dict[str, pulumi.Resource] = {}
for record in json.loads(Path(pulumi.Config("flat").require("input")).read_text())["resources"]:
    opts = pulumi.ResourceOptions(
        parent=created.get(record["parent"]),
        depends_on=[created[urn] for urn in record["dependencies"] if urn in created],
    )
    if record["custom"]:
        resource: pulumi.Resource = pulumi.CustomResource(record["type"], record["name"], record["inputs"], opts)
    else:
        resource = pulumi.ComponentResource(record["type"], record["name"], None, opts)
    created[record["urn"]] = resource
