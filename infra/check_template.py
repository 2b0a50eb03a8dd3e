"""Expands template.yaml and its area stacks with the SAM translator and writes the
CloudFormation results.

`cfn-lint template.yaml` alone checks the SAM resources loosely; linting the expansion
catches what only shows in the generated resources (versions, aliases, deployment groups,
roles, permissions). Local `CodeUri` folders and nested-stack `Location`s are replaced by
placeholder S3 URIs first, because the translator only accepts uploaded artifacts; each
area stack is expanded on its own, as CloudFormation does when it creates it.

Writes OUT_DIR/template.json and OUT_DIR/<area>.json (one per `AWS::Serverless::Application`
with a local Location) and fails when any stack passes CloudFormation's resource limit.
The translator resolves some parameters itself (a DeploymentPreference's Type), as
CloudFormation's transform does with the stack's values: the parent's defaults, or
NAME=VALUE arguments, stand for them, and an area stack gets the parent's value of each
parameter it shares.

usage: python infra/check_template.py template.yaml OUT_DIR [NAME=VALUE ...]
"""

import json
import os
import sys

from cfnlint.decode import decode
from samtranslator.translator.transform import transform

# CloudFormation's limit on the resources of one stack.
STACK_RESOURCE_LIMIT = 500


class OfflinePolicyLoader:
    """The translator asks IAM for managed policy ARNs; offline, it knows none."""

    def load(self):
        return {}


def expand(template_path: str, out_path: str, values: dict) -> tuple:
    """Expands one template with parameter `values` (defaults fill the rest); returns the
    local nested templates it names and the values it used."""
    template, matches = decode(template_path)
    if matches:
        for match in matches:
            print(match, file=sys.stderr)
        raise SystemExit(1)
    nested = []
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.setdefault("Properties", {})
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function":
            if isinstance(props.get("CodeUri"), str) and not props["CodeUri"].startswith("s3://"):
                props["CodeUri"] = "s3://placeholder-bucket/function.zip"
        elif kind == "AWS::Serverless::Application":
            location = props.get("Location")
            if isinstance(location, str) and not location.startswith("https://"):
                base = os.path.dirname(template_path)
                nested.append((logical_id, os.path.normpath(os.path.join(base, location))))
                props["Location"] = f"https://placeholder-bucket.s3.amazonaws.com/{logical_id}.yaml"
    declared = template.get("Parameters", {})
    values = {
        name: values.get(name, spec.get("Default"))
        for name, spec in declared.items()
        if name in values or "Default" in spec
    }
    expanded = transform(template, values, OfflinePolicyLoader())
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump(expanded, out, indent=1, default=str)
    count = len(expanded.get("Resources", {}))
    name = os.path.relpath(template_path)
    print(f"    {name}: {count} CloudFormation resources", file=sys.stderr)
    if count > STACK_RESOURCE_LIMIT:
        print(f"{name} passes the {STACK_RESOURCE_LIMIT}-resource limit of a stack", file=sys.stderr)
        raise SystemExit(1)
    return nested, values


def main(template_path: str, out_dir: str, overrides: list) -> int:
    os.makedirs(out_dir, exist_ok=True)
    given = dict(arg.split("=", 1) for arg in overrides)
    nested, values = expand(template_path, os.path.join(out_dir, "template.json"), given)
    for _, path in nested:
        area = os.path.splitext(os.path.basename(path))[0]
        expand(path, os.path.join(out_dir, f"{area}.json"), values)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
