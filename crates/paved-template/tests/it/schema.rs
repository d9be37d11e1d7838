//! Input schemas: Proton's `schema.yaml` converted to JSON Schema, invalid schemas refused with
//! their pointer, inputs completed with defaults and validated, and the compatibility rules
//! between minor versions, violated and respected.

use paved_template::schema::{
    InputSchema, ProtonSchemaKind, SchemaProblem, compatibility, from_proton,
};
use serde_json::{Value, json};

/// Parses YAML to JSON, as the bundle reader does.
#[track_caller]
fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).expect("test YAML parses")
}

/// A schema the test expects to be valid.
#[track_caller]
fn schema(json: Value) -> InputSchema {
    match InputSchema::new(json) {
        Ok(schema) => schema,
        Err(problems) => panic!("expected a valid schema, got {problems:#?}"),
    }
}

/// Problems as `(pointer, rule, message)` rows.
fn rows(problems: &[SchemaProblem]) -> Vec<(&str, &str, &str)> {
    problems
        .iter()
        .map(|problem| {
            (
                problem.pointer.as_str(),
                problem.rule.as_str(),
                problem.message.as_str(),
            )
        })
        .collect()
}

// Proton's schema.yaml.

const PROTON_ENVIRONMENT: &str = r#"
schema:
  format:
    openapi: "3.0.0"
  environment_input_type: "PublicEnvironmentInput"
  types:
    PublicEnvironmentInput:
      type: object
      description: "Input properties for my environment"
      properties:
        vpc_cidr:
          type: string
          description: "This CIDR range for your VPC"
          default: 10.0.0.0/16
          pattern: ([0-9]{1,3}\.){3}[0-9]{1,3}($|/(16|24))
        subnets:
          type: array
          description: "The subnets of the VPC"
          items:
            $ref: '#/types/Subnet'
          minItems: 1
        nat_gateways:
          type: integer
          minimum: 0
          exclusiveMinimum: true
          maximum: 3
          default: 1
        log_retention_days:
          type: integer
          nullable: true
          example: 30
      required:
        - subnets
    Subnet:
      type: object
      properties:
        cidr:
          type: string
        public:
          type: boolean
          default: false
      required:
        - cidr
    Unused:
      type: string
"#;

#[test]
fn proton_environment_schema() {
    let converted = from_proton(&yaml(PROTON_ENVIRONMENT)).expect("converts");
    assert_eq!(converted.kind, ProtonSchemaKind::Environment);
    assert_eq!(converted.pipeline, None);
    assert_eq!(
        converted.instance,
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "description": "Input properties for my environment",
            "properties": {
                "vpc_cidr": {
                    "type": "string",
                    "description": "This CIDR range for your VPC",
                    "default": "10.0.0.0/16",
                    "pattern": "([0-9]{1,3}\\.){3}[0-9]{1,3}($|/(16|24))"
                },
                "subnets": {
                    "type": "array",
                    "description": "The subnets of the VPC",
                    "items": { "$ref": "#/$defs/Subnet" },
                    "minItems": 1
                },
                "nat_gateways": {
                    "type": "integer",
                    "default": 1,
                    "maximum": 3,
                    "exclusiveMinimum": 0
                },
                "log_retention_days": {
                    "type": ["integer", "null"],
                    "examples": [30]
                }
            },
            "required": ["subnets"],
            "$defs": {
                "Subnet": {
                    "type": "object",
                    "properties": {
                        "cidr": { "type": "string" },
                        "public": { "type": "boolean", "default": false }
                    },
                    "required": ["cidr"]
                }
            }
        })
    );

    let schema = schema(converted.instance);
    assert_eq!(
        schema.input_names().collect::<Vec<_>>(),
        ["vpc_cidr", "subnets", "nat_gateways", "log_retention_days"]
    );
    assert_eq!(
        schema.validate(
            &json!({ "subnets": [{ "cidr": "10.0.1.0/24" }], "log_retention_days": null })
        ),
        Ok(json!({
            "subnets": [{ "cidr": "10.0.1.0/24", "public": false }],
            "log_retention_days": null,
            "vpc_cidr": "10.0.0.0/16",
            "nat_gateways": 1
        }))
    );
    let problems = schema
        .validate(&json!({ "subnets": [{ "public": true }], "nat_gateways": 0 }))
        .expect_err("invalid inputs");
    assert_eq!(
        problems
            .iter()
            .map(|problem| (
                problem.input.as_str(),
                problem.rule.as_str(),
                problem.message.as_str()
            ))
            .collect::<Vec<_>>(),
        [
            (
                "/nat_gateways",
                "exclusiveMinimum",
                "0 is not greater than the exclusive minimum 0"
            ),
            (
                "/subnets/0/cidr",
                "required",
                "`cidr` is required and has no default"
            ),
        ]
    );
}

const PROTON_SERVICE: &str = r#"
schema:
  format:
    openapi: "3.0.0"
  service_input_type: "LoadBalancedServiceInput"
  pipeline_input_type: "PipelineInputs"
  types:
    LoadBalancedServiceInput:
      type: object
      description: "Input properties for a loadbalanced Fargate service"
      properties:
        port:
          type: number
          description: "The port to route traffic to"
          default: 80
          minimum: 0
          maximum: 65535
        desired_count:
          type: number
          description: "The default number of Fargate tasks you want running"
          default: 1
          minimum: 1
        task_size:
          type: string
          description: "The size of the task you want to run"
          enum: ["x-small", "small", "medium", "large", "x-large"]
          default: "x-small"
        image:
          type: string
          description: "The name/url of the container image"
          default: "public.ecr.aws/z9d2n7e1/nginx:1.19.5"
          minLength: 1
          maxLength: 200
        autoscaling:
          $ref: '#/types/Autoscaling'
    Autoscaling:
      type: object
      nullable: true
      properties:
        min:
          type: integer
          default: 1
          minimum: 1
        max:
          type: integer
          default: 4
          maximum: 10
          exclusiveMaximum: true
    PipelineInputs:
      type: object
      description: "Pipeline input properties"
      properties:
        service_dir:
          type: string
          description: "Source directory for the service"
          default: "ecs-static-website"
          minLength: 1
          maxLength: 100
        unit_test_command:
          type: string
          description: "The command to run to unit test the application code"
          default: "echo 'add your unit test command here'"
          minLength: 1
          maxLength: 200
"#;

#[test]
fn proton_service_schema_with_pipeline() {
    let converted = from_proton(&yaml(PROTON_SERVICE)).expect("converts");
    assert_eq!(converted.kind, ProtonSchemaKind::Service);
    insta::assert_json_snapshot!(
        "proton_service_schema",
        json!({ "instance": converted.instance, "pipeline": converted.pipeline })
    );

    let instance = schema(converted.instance);
    assert_eq!(
        instance.validate(&json!({ "autoscaling": {} })),
        Ok(json!({
            "autoscaling": { "min": 1, "max": 4 },
            "port": 80,
            "desired_count": 1,
            "task_size": "x-small",
            "image": "public.ecr.aws/z9d2n7e1/nginx:1.19.5"
        }))
    );
    let problems = instance
        .validate(&json!({ "autoscaling": { "max": 10 }, "task_size": "huge" }))
        .expect_err("invalid inputs");
    assert_eq!(
        problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "`/autoscaling/max`: 10 is not less than the exclusive maximum 10",
            "`/task_size`: \"huge\" is not one of the accepted values [\"x-small\", \"small\", \"medium\", \"large\", \"x-large\"]",
        ]
    );
    // `nullable: true` on the referenced type.
    assert!(instance.validate(&json!({ "autoscaling": null })).is_ok());

    let pipeline = schema(converted.pipeline.expect("a pipeline schema"));
    assert_eq!(
        pipeline.input_names().collect::<Vec<_>>(),
        ["service_dir", "unit_test_command"]
    );
}

#[test]
fn proton_openapi_version_may_be_a_yaml_number() {
    let converted = from_proton(&yaml(
        "schema:\n  format: {openapi: 3.0}\n  environment_input_type: In\n  \
         types: {In: {type: object}}\n",
    ))
    .expect("converts");
    assert_eq!(
        converted.instance,
        json!({ "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object" })
    );
}

#[test]
fn proton_schema_problems() {
    #[track_caller]
    fn check(schema_yaml: &str, expect: &[(&str, &str, &str)]) {
        let problems = from_proton(&yaml(schema_yaml)).expect_err("a problem");
        assert_eq!(rows(&problems), expect);
    }
    check(
        "types: {}\n",
        &[(
            "",
            "proton-schema",
            "`schema` is missing or is not a mapping: Proton's schema.yaml holds `schema` with \
             `format`, `types` and `environment_input_type` or `service_input_type`",
        )],
    );
    check(
        "schema:\n  format: {openapi: 3.0.0}\n  types: {In: {type: object}}\n",
        &[(
            "/schema",
            "proton-schema",
            "neither `environment_input_type` nor `service_input_type` is set: an environment \
             template names its input type in `environment_input_type`, a service template in \
             `service_input_type` (and its pipeline's in `pipeline_input_type`)",
        )],
    );
    check(
        "schema:\n  format: {openapi: 3.0.0}\n  environment_input_type: In\n  \
         service_input_type: In\n  types: {In: {type: object}}\n",
        &[(
            "/schema",
            "proton-schema",
            "both `environment_input_type` and `service_input_type` are set: an environment \
             template sets `environment_input_type`, a service template `service_input_type`, \
             not both",
        )],
    );
    check(
        "schema:\n  format: {openapi: 3.0.0}\n  service_input_type: ServiceInput\n  \
         pipeline_input_type: 12\n  types: {In: {type: object}, Pipeline: {type: object}}\n",
        &[
            (
                "/schema/pipeline_input_type",
                "proton-schema",
                "`pipeline_input_type` must be the name of one of `types`, found 12; accepted: \
                 `In`, `Pipeline`",
            ),
            (
                "/schema/service_input_type",
                "unknown-input-type",
                "`ServiceInput` is not one of `types`; accepted: `In`, `Pipeline`",
            ),
        ],
    );
    check(
        "schema:\n  format: {openapi: 3.0.0}\n  environment_input_type: In\n  \
         pipeline_input_type: In\n  types: {In: {type: object}}\n",
        &[(
            "/schema/pipeline_input_type",
            "proton-schema",
            "`pipeline_input_type` is accepted only with `service_input_type`: environment \
             templates have no pipeline",
        )],
    );
    check(
        "schema:\n  environment_input_type: In\n  types: {In: {type: object}}\n",
        &[(
            "/schema/format",
            "proton-schema",
            "`format.openapi` must be `3.0.0` (Proton's schemas are OpenAPI 3.0); it is missing",
        )],
    );
    check(
        "schema:\n  format: {openapi: \"2.0\"}\n  environment_input_type: In\n  \
         types: {In: {type: object}}\n",
        &[(
            "/schema/format",
            "proton-schema",
            "`format.openapi` must be `3.0.0` (Proton's schemas are OpenAPI 3.0); found \"2.0\"",
        )],
    );
    check(
        "schema:\n  format: {openapi: 3.0.0}\n  environment_input_type: In\n",
        &[(
            "/schema/types",
            "proton-schema",
            "`types` is missing or is not a mapping: it maps each type name to an OpenAPI \
             schema, and the input types name some of them",
        )],
    );
    check(
        r##"
schema:
  format: {openapi: 3.0.0}
  environment_input_type: In
  types:
    In:
      type: object
      properties:
        subnets: {type: array, items: {$ref: '#/types/Subnets'}}
    Subnet: {type: string}
"##,
        &[(
            "/schema/types/In/properties/subnets/items/$ref",
            "unresolved-ref",
            "`#/types/Subnets` names no type of `types`; accepted: `#/types/In`, `#/types/Subnet`",
        )],
    );
    // Problems of the converted JSON Schema point back into schema.yaml, into the input type
    // itself or into a referenced type.
    check(
        r##"
schema:
  format: {openapi: 3.0.0}
  service_input_type: In
  types:
    In:
      type: object
      properties:
        port: {type: number, minimum: "x"}
        scaling: {$ref: '#/types/Scaling'}
    Scaling:
      type: object
      properties:
        max: {type: integr}
"##,
        &[
            (
                "/schema/types/In/properties/port/minimum",
                "json-schema",
                "`minimum` must be a number, found \"x\"",
            ),
            (
                "/schema/types/Scaling/properties/max/type",
                "json-schema",
                "`type` must be one of `array`, `boolean`, `integer`, `null`, `number`, \
                 `object` and `string`, or a list of them, found \"integr\"",
            ),
        ],
    );
    check(
        "schema:\n  format: {openapi: 3.0.0}\n  environment_input_type: In\n  \
         types: {In: {type: string}}\n",
        &[(
            "/schema/types/In/type",
            "object-schema",
            "the top level of an input schema must be `type: object` (each property is one \
             input); found `type: \"string\"`",
        )],
    );
}

// JSON Schema documents refused.

#[test]
fn invalid_schemas_are_refused_with_what_is_accepted() {
    #[track_caller]
    fn check(json: Value, expect: &[(&str, &str, &str)]) {
        let problems = InputSchema::new(json).expect_err("an invalid schema");
        assert_eq!(rows(&problems), expect);
    }
    check(
        json!({ "type": "object", "properties": { "port": { "type": 12 } } }),
        &[(
            "/properties/port/type",
            "json-schema",
            "`type` must be one of `array`, `boolean`, `integer`, `null`, `number`, `object` and \
             `string`, or a list of them, found 12",
        )],
    );
    // Every problem is reported, sorted by pointer; a property named like a keyword is a
    // property.
    check(
        json!({
            "type": "object",
            "properties": {
                "port": { "type": "integer", "minimum": "x" },
                "type": 12,
                "name": { "required": "a", "maxLength": -1 }
            },
            "required": ["port", 1]
        }),
        &[
            (
                "/properties/name/maxLength",
                "json-schema",
                "`maxLength` must be a non-negative integer, found -1",
            ),
            (
                "/properties/name/required",
                "json-schema",
                "`required` must be a list of unique property names, found \"a\"",
            ),
            (
                "/properties/port/minimum",
                "json-schema",
                "`minimum` must be a number, found \"x\"",
            ),
            (
                "/properties/type",
                "json-schema",
                "a schema must be an object or a boolean, found 12",
            ),
            (
                "/required",
                "json-schema",
                "`required` must be a list of unique property names, found [\"port\", 1]",
            ),
        ],
    );
    check(
        json!({ "type": "object", "properties": [] }),
        &[(
            "/properties",
            "json-schema",
            "`properties` must be an object whose values are schemas (objects or booleans), \
             found []",
        )],
    );
    check(
        json!({ "type": "string" }),
        &[(
            "/type",
            "object-schema",
            "the top level of an input schema must be `type: object` (each property is one \
             input); found `type: \"string\"`",
        )],
    );
    check(
        json!({ "properties": {} }),
        &[(
            "",
            "object-schema",
            "the top level of an input schema must be `type: object` (each property is one \
             input); `type` is missing",
        )],
    );
    check(
        json!(true),
        &[(
            "",
            "object-schema",
            "an input schema must be an object with `type: object` at the top level, found true",
        )],
    );
    check(
        json!(["port"]),
        &[(
            "",
            "json-schema",
            "an input schema must be a JSON Schema object with `type: object`, found [\"port\"]",
        )],
    );
    check(
        json!({
            "type": "object",
            "properties": {
                "vpc": { "$ref": "https://example.com/schemas/vpc.json" },
                "subnet": { "$ref": "#/$defs/Subnets" },
                "other": { "$ref": "other.json#/$defs/Subnet" }
            },
            "$defs": { "Subnet": { "type": "string" } }
        }),
        &[
            (
                "/properties/other/$ref",
                "remote-ref",
                "`other.json#/$defs/Subnet` is not a local reference: an input schema is one \
                 document, and only references into it are accepted, such as `#/$defs/Name`",
            ),
            (
                "/properties/subnet/$ref",
                "unresolved-ref",
                "`#/$defs/Subnets` points to nothing in this document; the document defines \
                 `#/$defs/Subnet`",
            ),
            (
                "/properties/vpc/$ref",
                "remote-ref",
                "`https://example.com/schemas/vpc.json` is not a local reference: an input \
                 schema is one document, and only references into it are accepted, such as \
                 `#/$defs/Name`",
            ),
        ],
    );
    check(
        json!({
            "type": "object",
            "properties": { "vpc": { "$id": "https://example.com/vpc.json", "type": "string" } }
        }),
        &[(
            "/properties/vpc/$id",
            "nested-id",
            "`$id` is accepted only at the top level of an input schema: a nested one starts \
             another document; use `$anchor` to name a subschema",
        )],
    );
    check(
        json!({ "$schema": "https://example.com/my-meta-schema", "type": "object" }),
        &[(
            "/$schema",
            "unknown-draft",
            "`https://example.com/my-meta-schema` is not a JSON Schema draft Paved knows; \
             accepted: `https://json-schema.org/draft/2020-12/schema` (the default), \
             `https://json-schema.org/draft/2019-09/schema`, \
             `http://json-schema.org/draft-07/schema#`, `http://json-schema.org/draft-06/schema#` \
             or `http://json-schema.org/draft-04/schema#`",
        )],
    );
    // The draft comes from `$schema`: draft 4's `exclusiveMinimum` is a boolean.
    check(
        json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "type": "object",
            "properties": { "port": { "minimum": 1, "exclusiveMinimum": 1 } }
        }),
        &[(
            "/properties/port/exclusiveMinimum",
            "json-schema",
            "`exclusiveMinimum` must be `true` or `false` in draft 4 (the bound itself is \
             `minimum` or `maximum`), found 1",
        )],
    );
    check(
        json!({ "type": "object", "properties": { "name": { "pattern": "([a-z" } } }),
        &[(
            "/properties/name/pattern",
            "json-schema",
            "\"([a-z\" is not a regular expression Paved can compile (ECMA 262 syntax is \
             expected)",
        )],
    );
}

#[test]
fn drafts_local_refs_and_ui_hints_are_accepted() {
    for json in [
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": { "port": { "$ref": "#/definitions/Port" } },
            "definitions": { "Port": { "type": "integer", "minimum": 1, "exclusiveMaximum": 65536 } }
        }),
        json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "type": "object",
            "properties": { "port": { "type": "integer", "minimum": 0, "exclusiveMinimum": true } }
        }),
        json!({
            "$id": "https://paved.dev/schemas/web-service.json",
            "type": "object",
            "properties": {
                "port": { "$ref": "#port" },
                "tree": { "$ref": "#" }
            },
            "$defs": { "Port": { "$anchor": "port", "type": "integer" } }
        }),
        json!({
            "type": "object",
            "ui:order": ["image", "port"],
            "properties": {
                "port": { "type": "integer", "ui:widget": "updown", "ui:help": "The container port" },
                "image": { "type": "string", "ui:placeholder": "nginx:1.27", "ui:options": { "$ref": 12 } }
            }
        }),
    ] {
        schema(json);
    }
}

// Validation and defaults.

/// One validation case: a schema, inputs, and the completed inputs or every problem as
/// `(input, rule, message)`.
#[track_caller]
fn check_inputs(schema_json: Value, inputs: Value, expect: Result<Value, &[(&str, &str, &str)]>) {
    let found = schema(schema_json).validate(&inputs);
    match (found, expect) {
        (Ok(completed), Ok(expected)) => assert_eq!(completed, expected),
        (Err(problems), Err(expected)) => {
            let found: Vec<(&str, &str, &str)> = problems
                .iter()
                .map(|problem| {
                    (
                        problem.input.as_str(),
                        problem.rule.as_str(),
                        problem.message.as_str(),
                    )
                })
                .collect();
            assert_eq!(found, expected);
        }
        (found, expected) => panic!("expected {expected:?}, found {found:?}"),
    }
}

fn web_service() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "port": { "type": "integer", "minimum": 1, "maximum": 65535, "default": 8080 },
            "image": { "type": "string", "minLength": 1, "maxLength": 20, "pattern": "^[a-z0-9./:-]+$" },
            "cpu": { "enum": [256, 512, 1024] },
            "env": { "const": "prod" },
            "replicas": { "type": "number", "multipleOf": 2, "exclusiveMaximum": 10 },
            "subnets": { "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 2, "uniqueItems": true },
            "health": { "type": ["string", "null"] },
            "autoscaling": { "$ref": "#/$defs/Autoscaling" }
        },
        "required": ["image"],
        "$defs": {
            "Autoscaling": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "min": { "type": "integer", "default": 1 },
                    "max": { "type": "integer", "maximum": 10 }
                },
                "required": ["max"]
            }
        }
    })
}

#[test]
fn every_problem_names_the_input_the_rule_and_what_is_accepted() {
    check_inputs(
        web_service(),
        json!({
            "port": 70000,
            "image": "NGINX",
            "cpu": 300,
            "env": "dev",
            "replicas": 11,
            "subnets": ["a", "a", "b"],
            "health": 3,
            "autoscaling": { "max": 11, "maxx": 3 },
            "imgae": "typo"
        }),
        Err(&[
            (
                "/autoscaling/max",
                "maximum",
                "11 is greater than the maximum 10",
            ),
            (
                "/autoscaling/maxx",
                "additionalProperties",
                "`maxx` is not accepted here; accepted: `min`, `max`",
            ),
            (
                "/cpu",
                "enum",
                "300 is not one of the accepted values [256, 512, 1024]",
            ),
            (
                "/env",
                "const",
                "\"dev\" is not the accepted value \"prod\"",
            ),
            (
                "/health",
                "type",
                "expected a string or null, found 3 (an integer)",
            ),
            (
                "/image",
                "pattern",
                "\"NGINX\" does not match the pattern `^[a-z0-9./:-]+$`",
            ),
            (
                "/imgae",
                "additionalProperties",
                "`imgae` is not accepted here; accepted: `port`, `image`, `cpu`, `env`, \
                 `replicas`, `subnets`, `health`, `autoscaling`",
            ),
            (
                "/port",
                "maximum",
                "70000 is greater than the maximum 65535",
            ),
            (
                "/replicas",
                "exclusiveMaximum",
                "11 is not less than the exclusive maximum 10",
            ),
            ("/replicas", "multipleOf", "11 is not a multiple of 2"),
            (
                "/subnets",
                "maxItems",
                "the list has 3 items, more than the maximum 2",
            ),
            (
                "/subnets",
                "uniqueItems",
                "\"a\" appears more than once; the items must be unique",
            ),
        ]),
    );
    check_inputs(
        web_service(),
        json!({ "port": "8080", "image": "", "subnets": [], "autoscaling": {} }),
        Err(&[
            (
                "/autoscaling/max",
                "required",
                "`max` is required and has no default",
            ),
            (
                "/image",
                "minLength",
                "\"\" is 0 characters long, less than the minimum length 1",
            ),
            (
                "/image",
                "pattern",
                "\"\" does not match the pattern `^[a-z0-9./:-]+$`",
            ),
            (
                "/port",
                "type",
                "expected an integer, found \"8080\" (a string)",
            ),
            (
                "/subnets",
                "minItems",
                "the list has 0 items, less than the minimum 1",
            ),
        ]),
    );
    check_inputs(
        web_service(),
        json!({ "port": 0, "image": "a-very-long-image-name:1.27", "subnets": [1] }),
        Err(&[
            (
                "/image",
                "maxLength",
                "\"a-very-long-image-name:1.27\" is 27 characters long, more than the maximum \
                 length 20",
            ),
            ("/port", "minimum", "0 is less than the minimum 1"),
            (
                "/subnets/0",
                "type",
                "expected a string, found 1 (an integer)",
            ),
        ]),
    );
    check_inputs(
        web_service(),
        json!({}),
        Err(&[(
            "/image",
            "required",
            "`image` is required and has no default",
        )]),
    );
    check_inputs(
        web_service(),
        json!([]),
        Err(&[("", "type", "expected an object, found a list")]),
    );
}

#[test]
fn defaults_complete_absent_inputs_only() {
    // Top level: applied when absent, never over a given value, even `null`.
    check_inputs(
        web_service(),
        json!({ "image": "nginx", "health": null }),
        Ok(json!({ "image": "nginx", "health": null, "port": 8080 })),
    );
    check_inputs(
        web_service(),
        json!({ "image": "nginx", "port": 80 }),
        Ok(json!({ "image": "nginx", "port": 80 })),
    );
    // Nested, through a `$ref`: the object exists, so its properties' defaults apply.
    check_inputs(
        web_service(),
        json!({ "image": "nginx", "autoscaling": { "max": 4 } }),
        Ok(json!({ "image": "nginx", "autoscaling": { "max": 4, "min": 1 }, "port": 8080 })),
    );
    let nested = json!({
        "type": "object",
        "properties": {
            "scaling": {
                "type": "object",
                "default": {},
                "properties": {
                    "min": { "type": "integer", "default": 1 },
                    "cpu": { "$ref": "#/$defs/Cpu" },
                    "memory": {
                        "type": "object",
                        "properties": { "limit": { "type": "integer", "default": 512 } }
                    }
                }
            },
            "listeners": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "port": { "type": "integer" },
                        "protocol": { "enum": ["HTTP", "HTTPS"], "default": "HTTP" }
                    }
                }
            },
            "tags": {
                "allOf": [{ "properties": { "team": { "type": "string", "default": "platform" } } }],
                "default": {}
            }
        },
        "$defs": { "Cpu": { "type": "integer", "default": 256 } }
    });
    // A default object is completed too; an absent object without a default stays absent.
    check_inputs(
        nested.clone(),
        json!({}),
        Ok(json!({
            "scaling": { "min": 1, "cpu": 256 },
            "tags": { "team": "platform" }
        })),
    );
    check_inputs(
        nested,
        json!({
            "scaling": { "memory": {} },
            "listeners": [{ "port": 80 }, { "port": 443, "protocol": "HTTPS" }]
        }),
        Ok(json!({
            "scaling": { "memory": { "limit": 512 }, "min": 1, "cpu": 256 },
            "listeners": [{ "port": 80, "protocol": "HTTP" }, { "port": 443, "protocol": "HTTPS" }],
            "tags": { "team": "platform" }
        })),
    );
}

#[test]
fn ui_hints_are_ignored_by_validation() {
    check_inputs(
        json!({
            "type": "object",
            "ui:order": ["image", "port"],
            "properties": {
                "port": { "type": "integer", "ui:widget": "updown", "ui:help": "The container port", "default": 80 },
                "image": { "type": "string", "ui:placeholder": "nginx:1.27", "ui:options": { "type": "integer" } }
            }
        }),
        json!({ "image": "nginx:1.27" }),
        Ok(json!({ "image": "nginx:1.27", "port": 80 })),
    );
}

#[test]
fn alternatives_explain_each_branch() {
    check_inputs(
        json!({
            "type": "object",
            "properties": {
                "size": { "anyOf": [{ "type": "integer", "minimum": 1 }, { "enum": ["small", "large"] }] }
            }
        }),
        json!({ "size": "medium" }),
        Err(&[(
            "/size",
            "anyOf",
            "\"medium\" matches none of the accepted alternatives: expected an integer, found \
             \"medium\" (a string); \"medium\" is not one of the accepted values [\"small\", \
             \"large\"]",
        )]),
    );
}

// Compatibility between minor versions.

/// Incompatibilities of `new` against `old` as `(input, rule, message)` rows.
#[track_caller]
fn check_compatibility(old: Value, new: Value, expect: &[(&str, &str, &str)]) {
    let found = compatibility(&old, &new);
    let found: Vec<(&str, String, &str)> = found
        .iter()
        .map(|incompatibility| {
            (
                incompatibility.input.as_str(),
                incompatibility.rule.to_string(),
                incompatibility.message.as_str(),
            )
        })
        .collect();
    let found: Vec<(&str, &str, &str)> = found
        .iter()
        .map(|(input, rule, message)| (*input, rule.as_str(), *message))
        .collect();
    assert_eq!(found, expect);
}

/// An object schema of `properties`, and `required`.
fn object(properties: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": properties, "required": required })
}

#[test]
fn input_removed() {
    check_compatibility(
        object(json!({ "port": {}, "debug": {} }), &[]),
        object(json!({ "port": {} }), &[]),
        &[(
            "/debug",
            "input-removed",
            "input `/debug` was removed: it is a property of the old version, not of the new one",
        )],
    );
    check_compatibility(
        object(
            json!({ "autoscaling": object(json!({ "min": {}, "max": {} }), &[]) }),
            &[],
        ),
        object(
            json!({ "autoscaling": object(json!({ "min": {} }), &[]) }),
            &[],
        ),
        &[(
            "/autoscaling/max",
            "input-removed",
            "input `/autoscaling/max` was removed: it is a property of the old version, not of \
             the new one",
        )],
    );
    // Adding inputs, optional or with a default, is fine; so is reordering.
    check_compatibility(
        object(json!({ "port": {}, "debug": {} }), &[]),
        object(
            json!({ "debug": {}, "port": {}, "region": { "default": "eu-west-1" }, "tag": {} }),
            &["region"],
        ),
        &[],
    );
}

#[test]
fn required_without_default() {
    let message = "input `/region` is required now and has no default: inputs without it were \
                   valid (give it a `default`, or keep it optional)";
    // A brand-new required input.
    check_compatibility(
        object(json!({ "port": {} }), &[]),
        object(
            json!({ "port": {}, "region": { "type": "string" } }),
            &["region"],
        ),
        &[("/region", "required-without-default", message)],
    );
    // An optional input made required.
    check_compatibility(
        object(json!({ "region": { "type": "string" } }), &[]),
        object(json!({ "region": { "type": "string" } }), &["region"]),
        &[("/region", "required-without-default", message)],
    );
    // A required input losing its default.
    check_compatibility(
        object(json!({ "region": { "default": "eu-west-1" } }), &["region"]),
        object(json!({ "region": {} }), &["region"]),
        &[(
            "/region",
            "required-without-default",
            "input `/region` is required and lost its default \"eu-west-1\": inputs without it \
             were valid",
        )],
    );
    // Nested.
    check_compatibility(
        object(
            json!({ "autoscaling": object(json!({ "min": {} }), &[]) }),
            &[],
        ),
        object(
            json!({ "autoscaling": object(json!({ "min": {} }), &["min"]) }),
            &[],
        ),
        &[(
            "/autoscaling/min",
            "required-without-default",
            "input `/autoscaling/min` is required now and has no default: inputs without it \
             were valid (give it a `default`, or keep it optional)",
        )],
    );
    // Respected: required with a default (through a `$ref`), already required, made optional.
    check_compatibility(
        object(json!({ "port": {}, "image": {} }), &["image"]),
        json!({
            "type": "object",
            "properties": { "port": {}, "image": {}, "region": { "$ref": "#/$defs/Region" } },
            "required": ["image", "region"],
            "$defs": { "Region": { "type": "string", "default": "eu-west-1" } }
        }),
        &[],
    );
    check_compatibility(
        object(json!({ "port": {}, "image": {} }), &["image", "port"]),
        object(
            json!({ "port": { "default": 80 }, "image": {} }),
            &["image"],
        ),
        &[],
    );
}

#[test]
fn type_narrowed() {
    check_compatibility(
        object(json!({ "cpu": { "type": "number" } }), &[]),
        object(json!({ "cpu": { "type": "integer" } }), &[]),
        &[(
            "/cpu",
            "type-narrowed",
            "input `/cpu`: type no longer accepts non-integer numbers (old: \"number\"; new: \
             \"integer\")",
        )],
    );
    check_compatibility(
        object(json!({ "health": { "type": ["string", "null"] } }), &[]),
        object(json!({ "health": { "type": "string" } }), &[]),
        &[(
            "/health",
            "type-narrowed",
            "input `/health`: type no longer accepts null (old: [\"string\", \"null\"]; new: \
             \"string\")",
        )],
    );
    check_compatibility(
        object(json!({ "anything": {} }), &[]),
        object(json!({ "anything": { "type": "string" } }), &[]),
        &[(
            "/anything",
            "type-narrowed",
            "input `/anything`: type no longer accepts numbers, booleans, objects, lists and \
             null (old: any; new: \"string\")",
        )],
    );
    // Array items, compared through `$ref`s in both documents.
    check_compatibility(
        json!({
            "type": "object",
            "properties": { "subnets": { "type": "array", "items": { "$ref": "#/$defs/Subnet" } } },
            "$defs": { "Subnet": { "type": ["string", "integer"] } }
        }),
        json!({
            "type": "object",
            "properties": { "subnets": { "$ref": "#/$defs/Subnets" } },
            "$defs": { "Subnets": { "type": "array", "items": { "type": "string" } } }
        }),
        &[(
            "/subnets/*",
            "type-narrowed",
            "input `/subnets/*`: type no longer accepts integers (old: [\"string\", \
             \"integer\"]; new: \"string\")",
        )],
    );
    // Widening is fine: integer → number, a type added, a type removed altogether.
    check_compatibility(
        object(
            json!({ "a": { "type": "integer" }, "b": { "type": "string" }, "c": { "type": "boolean" } }),
            &[],
        ),
        object(
            json!({ "a": { "type": "number" }, "b": { "type": ["string", "null"] }, "c": {} }),
            &[],
        ),
        &[],
    );
}

#[test]
fn enum_narrowed() {
    check_compatibility(
        object(
            json!({ "cpu": { "enum": [256, 512, 1024, 2048, 4096] } }),
            &[],
        ),
        object(json!({ "cpu": { "enum": [256, 512, 1024, 2048] } }), &[]),
        &[(
            "/cpu",
            "enum-narrowed",
            "input `/cpu`: enum no longer accepts 4096 (old: [256, 512, 1024, 2048, 4096]; new: \
             [256, 512, 1024, 2048])",
        )],
    );
    check_compatibility(
        object(json!({ "size": { "type": "string" } }), &[]),
        object(
            json!({ "size": { "type": "string", "enum": ["small", "large"] } }),
            &[],
        ),
        &[(
            "/size",
            "enum-narrowed",
            "input `/size`: enum added: only [\"small\", \"large\"] is accepted (old: any value)",
        )],
    );
    // Widening is fine: a value added, the order changed, `1.0` for `1`, the enum dropped.
    check_compatibility(
        object(
            json!({ "a": { "enum": [1, 2] }, "b": { "const": "x" }, "c": { "enum": ["x"] } }),
            &[],
        ),
        object(
            json!({ "a": { "enum": [3, 2.0, 1.0] }, "b": { "enum": ["y", "x"] }, "c": {} }),
            &[],
        ),
        &[],
    );
}

#[test]
fn bound_narrowed() {
    check_compatibility(
        object(
            json!({
                "port": { "minimum": 1, "maximum": 65535 },
                "count": { "exclusiveMaximum": 10 },
                "name": { "type": "string", "maxLength": 64 },
                "code": { "type": "string", "pattern": "^[a-z]+$" },
                "tags": { "type": "array" },
                "step": { "multipleOf": 2 }
            }),
            &[],
        ),
        object(
            json!({
                "port": { "minimum": 1024, "maximum": 9999 },
                "count": { "maximum": 9 },
                "name": { "type": "string", "maxLength": 32, "minLength": 3 },
                "code": { "type": "string", "pattern": "^[a-z0-9]+$" },
                "tags": { "type": "array", "uniqueItems": true, "maxItems": 5 },
                "step": { "multipleOf": 4 }
            }),
            &[],
        ),
        &[
            (
                "/code",
                "bound-narrowed",
                "input `/code`: pattern changed (old: `^[a-z]+$`; new: `^[a-z0-9]+$`)",
            ),
            (
                "/count",
                "bound-narrowed",
                "input `/count`: maximum lowered (old: less than 10; new: at most 9)",
            ),
            (
                "/name",
                "bound-narrowed",
                "input `/name`: `maxLength` lowered (old: 64; new: 32)",
            ),
            (
                "/name",
                "bound-narrowed",
                "input `/name`: `minLength` added (old: none; new: 3)",
            ),
            (
                "/port",
                "bound-narrowed",
                "input `/port`: maximum lowered (old: at most 65535; new: at most 9999)",
            ),
            (
                "/port",
                "bound-narrowed",
                "input `/port`: minimum raised (old: at least 1; new: at least 1024)",
            ),
            (
                "/step",
                "bound-narrowed",
                "input `/step`: `multipleOf` changed (old: 2; new: 4)",
            ),
            (
                "/tags",
                "bound-narrowed",
                "input `/tags`: `maxItems` added (old: none; new: 5)",
            ),
            (
                "/tags",
                "bound-narrowed",
                "input `/tags`: `uniqueItems` turned on: lists with repeated items are refused",
            ),
        ],
    );
    // Relaxed bounds are fine.
    check_compatibility(
        object(
            json!({
                "port": { "minimum": 1024, "maximum": 9999 },
                "name": { "maxLength": 32, "minLength": 3, "pattern": "^[a-z]+$" },
                "step": { "multipleOf": 4 },
                "count": { "exclusiveMinimum": 0 }
            }),
            &[],
        ),
        object(
            json!({
                "port": { "minimum": 1, "maximum": 65535 },
                "name": { "maxLength": 64 },
                "step": { "multipleOf": 2 },
                "count": { "minimum": 0 }
            }),
            &[],
        ),
        &[],
    );
}

#[test]
fn shared_and_recursive_definitions() {
    let old = json!({
        "type": "object",
        "properties": {
            "primary": { "$ref": "#/$defs/Scaling" },
            "secondary": { "$ref": "#/$defs/Scaling" },
            "tree": { "$ref": "#/$defs/Node" }
        },
        "$defs": {
            "Scaling": { "type": "object", "properties": { "max": { "maximum": 10 } } },
            "Node": {
                "type": "object",
                "properties": {
                    "name": { "type": "string" },
                    "children": { "type": "array", "items": { "$ref": "#/$defs/Node" } }
                }
            }
        }
    });
    let mut new = old.clone();
    new["$defs"]["Scaling"]["properties"]["max"]["maximum"] = json!(5);
    new["$defs"]["Node"]["properties"]["name"]["maxLength"] = json!(10);
    // A shared definition is reported at each place it is used; a recursive one once per level
    // until it recurses.
    check_compatibility(
        old,
        new,
        &[
            (
                "/primary/max",
                "bound-narrowed",
                "input `/primary/max`: maximum lowered (old: at most 10; new: at most 5)",
            ),
            (
                "/secondary/max",
                "bound-narrowed",
                "input `/secondary/max`: maximum lowered (old: at most 10; new: at most 5)",
            ),
            (
                "/tree/children/*/name",
                "bound-narrowed",
                "input `/tree/children/*/name`: `maxLength` added (old: none; new: 10)",
            ),
            (
                "/tree/name",
                "bound-narrowed",
                "input `/tree/name`: `maxLength` added (old: none; new: 10)",
            ),
        ],
    );
}

#[test]
fn compatibility_of_identical_and_converted_proton_schemas() {
    let service = from_proton(&yaml(PROTON_SERVICE)).expect("converts");
    assert_eq!(compatibility(&service.instance, &service.instance), []);
    // Proton's `exclusiveMaximum: true` next to `maximum: 10` compares as `exclusiveMaximum: 10`.
    let lowered = PROTON_SERVICE.replace("maximum: 10\n", "maximum: 8\n");
    let lowered = from_proton(&yaml(&lowered)).expect("converts");
    assert_eq!(
        compatibility(&service.instance, &lowered.instance)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["input `/autoscaling/max`: maximum lowered (old: less than 10; new: less than 8)"]
    );
}

// Determinism.

#[test]
fn results_are_deterministic() {
    let first_conversion = from_proton(&yaml(PROTON_SERVICE)).expect("converts");
    let inputs = json!({
        "port": 70000, "image": "NGINX", "cpu": 300, "subnets": ["a", "a", "b"],
        "autoscaling": { "max": 11, "maxx": 3, "other": 1 }, "imgae": "typo", "zzz": 1, "aaa": 2
    });
    let schema = schema(web_service());
    let first_problems = schema.validate(&inputs);
    let old = web_service();
    let new = object(
        json!({ "port": { "type": "string" }, "image": { "enum": ["a"] } }),
        &["zone"],
    );
    let first_incompatibilities = compatibility(&old, &new);
    for _ in 0..10 {
        assert_eq!(
            from_proton(&yaml(PROTON_SERVICE)),
            Ok(first_conversion.clone())
        );
        assert_eq!(schema.validate(&inputs), first_problems);
        assert_eq!(compatibility(&old, &new), first_incompatibilities);
    }
    let inputs_sorted: Vec<&str> = first_problems
        .as_ref()
        .expect_err("invalid inputs")
        .iter()
        .map(|problem| problem.input.as_str())
        .collect();
    let mut sorted = inputs_sorted.clone();
    sorted.sort_unstable();
    assert_eq!(inputs_sorted, sorted);
}
