"""The flat baseline of `make bench`: a Pulumi program with no code of its own.

It registers, as they are, the resources a run of the real program recorded (type,
name, parent, dependencies, inputs, provider version, aliases, secret outputs:
`offline.flat` writes them to the JSON file named by config `flat:input`). No
component, config model or typed `pulumi_kubernetes` class is imported, so what the
real program costs above this is its own code and imports.
"""

import json
from pathlib import Path

import pulumi


class Recorded(pulumi.CustomResource):
    """A resource of any type, registered through a class of its own as the program's
    resources are (components.k8s.KubernetesObject and the typed classes)."""

    def __init__(self, record: dict, opts: pulumi.ResourceOptions) -> None:
        super().__init__(record["type"], record["name"], record["inputs"], opts)


created: dict[str, pulumi.Resource] = {}
for record in json.loads(Path(pulumi.Config("flat").require("input")).read_text())["resources"]:
    opts = pulumi.ResourceOptions(
        parent=created.get(record["parent"]),
        depends_on=[created[urn] for urn in record["dependencies"] if urn in created],
        version=record["version"] or None,
        aliases=[pulumi.Alias(type_=alias) for alias in record["aliases"]] or None,
        additional_secret_outputs=record["additional_secret_outputs"] or None,
    )
    if record["custom"]:
        resource: pulumi.Resource = Recorded(record, opts)
    else:
        resource = pulumi.ComponentResource(record["type"], record["name"], None, opts)
    created[record["urn"]] = resource
