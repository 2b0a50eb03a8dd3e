"""Expands template.yaml with the SAM translator and writes the CloudFormation result.

`cfn-lint template.yaml` alone checks the SAM resources loosely; linting the expansion
catches what only shows in the generated resources (routes, stage throttling, roles,
permissions). Local `CodeUri` folders are replaced by placeholder S3 URIs first, because
the translator only accepts uploaded artifacts.

usage: python infra/check_template.py template.yaml OUT.json
"""

import json
import sys

from cfnlint.decode import decode
from samtranslator.translator.transform import transform


class OfflinePolicyLoader:
    """The translator asks IAM for managed policy ARNs; offline, it knows none."""

    def load(self):
        return {}


def main(template_path: str, out_path: str) -> int:
    template, matches = decode(template_path)
    if matches:
        for match in matches:
            print(match, file=sys.stderr)
        return 1
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            props = resource.setdefault("Properties", {})
            if isinstance(props.get("CodeUri"), str) and not props["CodeUri"].startswith("s3://"):
                props["CodeUri"] = "s3://placeholder-bucket/function.zip"
    expanded = transform(template, {}, OfflinePolicyLoader())
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump(expanded, out, indent=1, default=str)
    resources = expanded.get("Resources", {})
    print(f"    expanded to {len(resources)} CloudFormation resources", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
