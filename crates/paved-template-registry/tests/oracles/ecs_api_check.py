#!/usr/bin/env python3
"""Checks the AWS API requests that rendered CloudFormation templates stand for, against
botocore's service models (the same JSON models the AWS SDKs and CLI are generated from).

Usage: ecs_api_check.py TEMPLATE.yaml...

For every resource of a type below, the CloudFormation properties are turned into the input of
the API operation CloudFormation calls to create it, and validated offline with `validate` from
the shared oracles folder's validate_taskdef.py (copied into $ORACLES_HOME by
.ci/setup-oracles): unknown keys, types, required members, enums and lengths.

    AWS::ECS::TaskDefinition                    ecs RegisterTaskDefinition
    AWS::ECS::Service                           ecs CreateService
    AWS::Scheduler::Schedule                    scheduler CreateSchedule
    AWS::ApplicationAutoScaling::ScalableTarget application-autoscaling RegisterScalableTarget
    AWS::ApplicationAutoScaling::ScalingPolicy  application-autoscaling PutScalingPolicy

Intrinsic functions (Ref, Fn::GetAtt, Fn::ImportValue, Fn::Sub, Fn::Split, ...) cannot be
resolved offline; each is replaced by a placeholder of the type the API model expects at that
place (a string, an ARN-looking string, a number, a list of strings). Literal values are never
changed, so a literal of the wrong type is still reported.

Prints one JSON object per checked resource and line:
    {"file": ..., "resource": ..., "type": ..., "operation": ..., "errors": [...]}
Exit 0 = every request valid, 1 = some request invalid, 2 = a file could not be read."""
import json
import os
import re
import sys

HOME = os.environ.get("ORACLES_HOME") or os.path.expanduser("~/.cache/paved-oracles")
sys.path.insert(0, HOME)
from validate_taskdef import validate  # noqa: E402  (from the shared oracles folder)

import botocore.session  # noqa: E402
from cfnlint.decode import cfn_yaml  # noqa: E402  (CloudFormation's short-form tags: !Ref, !Sub, ...)

ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::StackName": "paved-stack",
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/paved-stack/1",
    "AWS::URLSuffix": "amazonaws.com",
}

# ----------------------------------------------------------------------------------------------
# CloudFormation property names -> API member names (ECS only: the other APIs here use
# CloudFormation's PascalCase names already).

# Maps whose keys are the user's data, not property names: their keys are kept as they are.
USER_MAPS = {"DockerLabels", "Options", "DriverOpts", "Labels"}
# Where lower-casing the first letter is not the API's name.
RENAMES = {
    "EFSVolumeConfiguration": "efsVolumeConfiguration",
    "FSxWindowsFileServerVolumeConfiguration": "fsxWindowsFileServerVolumeConfiguration",
    "IAM": "iam",
    "ProxyConfigurationProperties": "properties",
}


def camel(key):
    return RENAMES.get(key) or key[:1].lower() + key[1:]


def to_camel(value):
    if is_intrinsic(value):
        return value
    if isinstance(value, dict):
        return {camel(k): (v if k in USER_MAPS else to_camel(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [to_camel(v) for v in value]
    return value


# ----------------------------------------------------------------------------------------------
# Resource properties -> operation input.

def task_definition(props, _resources):
    return to_camel(props)


def service(props, _resources):
    props = dict(props)
    # CloudFormation-only: asks CloudFormation for a new deployment; no CreateService member.
    props.pop("ForceNewDeployment", None)
    return to_camel(props)


def schedule(props, _resources):
    props = json.loads(json.dumps(props))
    # CloudFormation generates a name when none is given; the API requires one.
    props.setdefault("Name", "paved-generated-name")
    # The one member whose name differs: the API spells it in camelCase, CloudFormation not.
    network = ((props.get("Target") or {}).get("EcsParameters") or {}).get("NetworkConfiguration")
    if isinstance(network, dict) and "AwsvpcConfiguration" in network:
        network["awsvpcConfiguration"] = network.pop("AwsvpcConfiguration")
    return props


def scalable_target(props, _resources):
    props = dict(props)
    # CloudFormation-only: scheduled actions are a separate API call (PutScheduledAction).
    props.pop("ScheduledActions", None)
    return props


def scaling_policy(props, resources):
    props = dict(props)
    # CloudFormation-only: names the scalable target, whose three keys the API wants instead.
    target = props.pop("ScalingTargetId", None)
    if isinstance(target, dict) and "Ref" in target and target["Ref"] in resources:
        target_props = resources[target["Ref"]].get("Properties", {})
        for key in ("ServiceNamespace", "ResourceId", "ScalableDimension"):
            props.setdefault(key, target_props.get(key))
    return props


CHECKS = {
    "AWS::ECS::TaskDefinition": ("ecs", "RegisterTaskDefinition", task_definition),
    "AWS::ECS::Service": ("ecs", "CreateService", service),
    "AWS::Scheduler::Schedule": ("scheduler", "CreateSchedule", schedule),
    "AWS::ApplicationAutoScaling::ScalableTarget": (
        "application-autoscaling", "RegisterScalableTarget", scalable_target),
    "AWS::ApplicationAutoScaling::ScalingPolicy": (
        "application-autoscaling", "PutScalingPolicy", scaling_policy),
}

# ----------------------------------------------------------------------------------------------
# Intrinsic functions -> placeholders of the type the model expects.

INTRINSICS = {
    "Ref", "Fn::GetAtt", "Fn::Sub", "Fn::ImportValue", "Fn::Select", "Fn::Split", "Fn::Join",
    "Fn::If", "Fn::FindInMap", "Fn::GetAZs", "Fn::Base64", "Fn::Cidr", "Fn::Length",
    "Fn::ToJsonString",
}


def is_intrinsic(value):
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in INTRINSICS


def is_no_value(value):
    return isinstance(value, dict) and value.get("Ref") == "AWS::NoValue"


def arn(name):
    return f"arn:aws:placeholder:{REGION}:{ACCOUNT}:{name}"


def text(value):
    """A plausible string for a string-valued expression."""
    if isinstance(value, (str, int, float, bool)):
        return str(value)
    if not is_intrinsic(value):
        return "placeholder"
    (fn, arg), = value.items()
    if fn == "Ref":
        return PSEUDO.get(arg, f"{arg}-ref")
    if fn == "Fn::GetAtt":
        resource, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
        return arn(resource) if text(attribute).endswith("Arn") else f"{resource}-{text(attribute)}"
    if fn == "Fn::ImportValue":
        name = text(arg)
        return arn(name) if name.endswith(("Arn", "Namespace")) else f"imported-{name}"
    if fn == "Fn::Sub":
        template = arg[0] if isinstance(arg, list) else arg
        return re.sub(r"\$\{([^}!][^}]*)\}", lambda m: PSEUDO.get(m[1], "x"), template)
    if fn == "Fn::Join":
        separator, items = arg
        parts = items if isinstance(items, list) else strings(items)
        return text(separator).join(text(part) for part in parts)
    if fn == "Fn::Select":
        index, items = arg
        if isinstance(items, list) and str(index).isdigit() and int(index) < len(items):
            return text(items[int(index)])
        return f"selected-{index}"
    if fn == "Fn::If":
        return text(arg[1])
    if fn == "Fn::Base64":
        return text(arg)
    return "placeholder"


def strings(value):
    """A plausible list of strings for a list-valued expression."""
    if isinstance(value, list):
        return [text(v) for v in value]
    (fn, arg), = value.items()
    if fn == "Fn::Split":
        return [f"{text(arg[1])}-{n}" for n in (1, 2)]
    if fn == "Fn::GetAZs":
        return [f"{REGION}a", f"{REGION}b"]
    if fn == "Fn::If":
        return strings(arg[1])
    return [f"{text(value)}-{n}" for n in (1, 2)]


def placeholder(value, shape):
    kind = shape.type_name
    if kind == "list":
        return strings(value) if shape.member.type_name == "string" else [
            placeholder(value, shape.member)]
    if kind in ("integer", "long"):
        return 1
    if kind in ("float", "double"):
        return 1.0
    if kind == "boolean":
        return True
    return text(value)


def resolve(value, shape):
    """`value` with every intrinsic function replaced, following the API model's `shape`
    (None where the model has no member: the value is kept so the validator reports it)."""
    if is_intrinsic(value):
        if fn_if := value.get("Fn::If"):
            return resolve(fn_if[1], shape)
        return placeholder(value, shape) if shape is not None else text(value)
    kind = shape.type_name if shape is not None else None
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if is_no_value(item):
                continue
            if kind == "structure":
                member = shape.members.get(key)
            elif kind == "map":
                member = shape.value
            else:
                member = None
            out[key] = resolve(item, member)
        return out
    if isinstance(value, list):
        member = shape.member if kind == "list" else None
        return [resolve(item, member) for item in value if not is_no_value(item)]
    return value


# ----------------------------------------------------------------------------------------------

def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    session = botocore.session.get_session()
    models = {}
    failed = False
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                template = json.loads(json.dumps(cfn_yaml.loads(f.read(), path)))
        except Exception as err:  # noqa: BLE001 - any reading problem is reported the same way
            print(json.dumps({"file": path, "error": f"cannot read: {err}"}))
            return 2
        resources = template.get("Resources") or {}
        for logical_id, resource in resources.items():
            check = CHECKS.get(resource.get("Type"))
            if check is None:
                continue
            service_name, operation, convert = check
            if service_name not in models:
                models[service_name] = session.get_service_model(service_name)
            shape = models[service_name].operation_model(operation).input_shape
            params = resolve(convert(resource.get("Properties") or {}, resources), shape)
            errors = validate(params, operation, service_name)
            failed = failed or bool(errors)
            print(json.dumps({
                "file": path,
                "resource": logical_id,
                "type": resource["Type"],
                "operation": f"{service_name}:{operation}",
                "errors": errors,
            }))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
