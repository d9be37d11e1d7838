#!/usr/bin/env python3
"""Checks the built-in templates' input schemas, the instance ones (`schema.yaml`) and the
service templates' pipeline ones (`pipeline-schema.yaml`), with Python's `jsonschema` (draft
2020-12).

Usage: schema_check.py REQUEST.json, where the request is
    {"schemas": {NAME: PATH-TO-SCHEMA},     # NAME: a template, or "TEMPLATE (pipeline)"
     "valid":   [{"template": NAME, "name": N, "inputs": {...}}, ...],
     "invalid": [{"template": NAME, "name": WHY, "inputs": {...}}, ...]}

- every schema is a valid 2020-12 schema, an object schema at the top, whose every input
  (nested ones too) has a `title` and a `description`, and whose `ui:order` names each
  top-level input once;
- every `valid` input set is accepted, and every `invalid` one refused.

Inputs are validated as Paved validates them: with the schema's defaults filled in (nested
objects too); each default must satisfy its own input's schema (checked too).
Exit 0 = all as expected, 1 = problems (printed one per line)."""
import json
import sys

import jsonschema
import yaml


def properties_of(schema, path):
    """(path, property schema) of every input, nested object inputs included."""
    for name, prop in (schema.get("properties") or {}).items():
        yield f"{path}/{name}", prop
        if prop.get("type") == "object":
            yield from properties_of(prop, f"{path}/{name}")


def with_defaults(schema, value):
    if not isinstance(value, dict):
        return value
    value = dict(value)
    for name, prop in (schema.get("properties") or {}).items():
        if name in value:
            value[name] = with_defaults(prop, value[name])
        elif "default" in prop:
            value[name] = with_defaults(prop, prop["default"])
    return value


def main(request_path):
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    problems = []
    validators = {}
    schemas = {}
    for template, path in request["schemas"].items():
        with open(path, encoding="utf-8") as f:
            schema = yaml.safe_load(f)
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as err:
            problems.append(f"{template}: not a valid 2020-12 schema: {err.message} at {list(err.path)}")
            continue
        if schema.get("type") != "object":
            problems.append(f"{template}: the top-level schema must be an object schema")
        for prop_path, prop in properties_of(schema, ""):
            for key in ("title", "description"):
                if not str(prop.get(key) or "").strip():
                    problems.append(f"{template}: input {prop_path} has no {key}")
            if "default" in prop:
                for err in jsonschema.Draft202012Validator(prop).iter_errors(prop["default"]):
                    problems.append(f"{template}: the default of {prop_path} is invalid: {err.message}")
        order = schema.get("ui:order") or []
        if sorted(order) != sorted(schema.get("properties") or {}):
            problems.append(f"{template}: ui:order {order} does not name each input once")
        validators[template] = jsonschema.Draft202012Validator(schema)
        schemas[template] = schema

    for case in request["valid"]:
        validator = validators.get(case["template"])
        inputs = with_defaults(schemas.get(case["template"], {}), case["inputs"])
        for err in validator.iter_errors(inputs) if validator else []:
            problems.append(
                f"{case['template']}/{case['name']}: refused: {err.message} at /{'/'.join(map(str, err.path))}")
    for case in request["invalid"]:
        validator = validators.get(case["template"])
        inputs = with_defaults(schemas.get(case["template"], {}), case["inputs"])
        if validator and validator.is_valid(inputs):
            problems.append(f"{case['template']}: accepted {case['name']}: {json.dumps(case['inputs'])}")

    print("\n".join(problems) or "OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
