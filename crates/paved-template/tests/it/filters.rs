//! Each filter's output, and that it means in YAML what AWS Proton's documented output means.
//!
//! Proton's examples come from "Parameter filters for CloudFormation IaC files" in the AWS
//! Proton User Guide (`doc_source/parameter-filters.md` of `awsdocs/aws-proton-user-guide`).

use paved_template::{Limits, Newlines, render_files};
use serde_json::{Value, json};

use crate::{files, render_error, render_one};

/// The outputs of Proton's example component.
fn component_context() -> Value {
    json!({
        "service_instance": {
            "name": "frontend",
            "components": { "default": { "outputs": {
                "Output1": "hello",
                "Output2": "world",
                "PolicyArn1": "arn:aws:iam::123456789012:policy/cfn-generated-policy-name-1",
                "PolicyArn2": "arn:aws:iam::123456789012:policy/cfn-generated-policy-name-2"
            } } }
        }
    })
}

fn render_component(text: &str) -> String {
    let mut rendered = render_files(
        &files(&[("t.yaml", text)]),
        &component_context(),
        &Limits::default(),
        Newlines::AsWritten,
    )
    .expect("renders");
    rendered.remove(0).contents
}

#[track_caller]
fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|err| panic!("not YAML ({err}):\n{text}"))
}

/// Renders `template`, snapshots it, and checks it parses to the same YAML as `proton_rendered`.
#[track_caller]
fn check_same_as_proton(name: &str, template: &str, proton_rendered: &str) {
    let rendered = render_component(template);
    insta::assert_snapshot!(name, rendered);
    assert_eq!(
        yaml(&rendered),
        yaml(proton_rendered),
        "rendered:\n{rendered}"
    );
}

#[test]
fn proton_cfn_ecs_task_definition_formatted_env_vars() {
    let outputs_only_strings = r#"{% set outputs = {"Output1": "hello", "Output2": "world"} %}"#;
    check_same_as_proton(
        "ecs_env_vars",
        &format!(
            "{outputs_only_strings}Resources:
  TaskDefinition:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: MyServiceName
          Environment:
            {{{{ outputs
              | proton_cfn_ecs_task_definition_formatted_env_vars }}}}
"
        ),
        "Resources:
  TaskDefinition:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: MyServiceName
          Environment:
            - Name: Output1
              Value: hello
            - Name: Output2
              Value: world
",
    );
    let cases = [
        (
            "{{ {} | proton_cfn_ecs_task_definition_formatted_env_vars }}",
            "[]",
        ),
        (
            "{{ {'PORT': 8080, 'DEBUG': false, 'MSG': 'a: b # c\\n- d'} | proton_cfn_ecs_task_definition_formatted_env_vars }}",
            "- Name: PORT\n  Value: \"8080\"\n- Name: DEBUG\n  Value: \"false\"\n- Name: MSG\n  Value: \"a: b # c\\n- d\"",
        ),
        (
            "{{ {'A': 'ok-1_2'} | proton_cfn_ecs_task_definition_formatted_env_vars(raw=False) }}",
            "- Name: A\n  Value: ok-1_2",
        ),
        (
            "{{ {'A': 'ok-1_2'} | proton_cfn_ecs_task_definition_formatted_env_vars(False) }}",
            "- Name: A\n  Value: ok-1_2",
        ),
    ];
    for (template, expect) in cases {
        assert_eq!(render_one(template), expect);
    }
    check_error(
        "{{ {'A': 'a b'} | proton_cfn_ecs_task_definition_formatted_env_vars(raw=False) }}",
        "invalid operation: proton_cfn_ecs_task_definition_formatted_env_vars: illegal characters in \"a b\" (`A`): with raw=False it must match `^[a-zA-Z0-9_-]*$`",
    );
    check_error(
        "{{ ['a'] | proton_cfn_ecs_task_definition_formatted_env_vars }}",
        "invalid operation: proton_cfn_ecs_task_definition_formatted_env_vars: expected a mapping of names to values, got a list",
    );
    check_error(
        "{{ {'A': {'b': 1}} | proton_cfn_ecs_task_definition_formatted_env_vars }}",
        "invalid operation: proton_cfn_ecs_task_definition_formatted_env_vars: expected a string, number or boolean for `A`, got a mapping",
    );
}

#[test]
fn proton_cfn_lambda_function_formatted_env_vars() {
    check_same_as_proton(
        "lambda_env_vars",
        r#"{% set outputs = {"Output1": "hello", "Output2": "world"} %}Resources:
  Lambda:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          {{ outputs
            | proton_cfn_lambda_function_formatted_env_vars }}
"#,
        "Resources:
  Lambda:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          Output1: hello
          Output2: world
",
    );
    assert_eq!(
        render_one("{{ {} | proton_cfn_lambda_function_formatted_env_vars }}"),
        "{}"
    );
}

#[test]
fn proton_cfn_iam_policy_arns() {
    check_same_as_proton(
        "iam_policy_arns",
        "Resources:
  TaskRole:
    Type: AWS::IAM::Role
    Properties:
      ManagedPolicyArns:
        - BaseTaskRoleManagedPolicy
        {{ service_instance.components.default.outputs
            | proton_cfn_iam_policy_arns }}
  BaseTaskRoleManagedPolicy:
    Type: AWS::IAM::ManagedPolicy
",
        "Resources:
  TaskRole:
    Type: AWS::IAM::Role
    Properties:
      ManagedPolicyArns:
        - BaseTaskRoleManagedPolicy
        - arn:aws:iam::123456789012:policy/cfn-generated-policy-name-1
        - arn:aws:iam::123456789012:policy/cfn-generated-policy-name-2
  BaseTaskRoleManagedPolicy:
    Type: AWS::IAM::ManagedPolicy
",
    );
    let cases = [
        // A list works too; AWS-managed and malformed ARNs are dropped, as in Proton.
        (
            "  {{ ['arn:aws:iam::123456789012:policy/a', 'arn:aws:iam::aws:policy/ReadOnlyAccess', 'nope', 'arn:aws-cn:iam::123456789012:policy/path/b'] | proton_cfn_iam_policy_arns }}",
            "  - arn:aws:iam::123456789012:policy/a\n  - arn:aws-cn:iam::123456789012:policy/path/b",
        ),
        (
            "{{ {'Output1': 'hello'} | proton_cfn_iam_policy_arns }}",
            "",
        ),
        (
            "{{ ['arn:aws:iam::123456789012:policy/a b'] | proton_cfn_iam_policy_arns }}",
            r#"- "arn:aws:iam::123456789012:policy/a b""#,
        ),
    ];
    for (template, expect) in cases {
        assert_eq!(render_one(template), expect);
    }
}

#[test]
fn proton_cfn_sanitize() {
    let cases = [
        (
            "{{ 'This-is_valid_37' | proton_cfn_sanitize }}",
            "This-is_valid_37",
        ),
        (
            "{{ 'arn:aws:some-service::123456789012:some-resource/resource-name' | proton_cfn_sanitize }}",
            "arn:aws:some-service::123456789012:some-resource/resource-name",
        ),
        ("{{ 42 | proton_cfn_sanitize }}", "42"),
    ];
    for (template, expect) in cases {
        assert_eq!(render_one(template), expect);
    }
    check_error(
        "{{ 'this::is::incorrect' | proton_cfn_sanitize }}",
        "invalid operation: proton_cfn_sanitize: illegal characters in \"this::is::incorrect\": it must match `^[a-zA-Z0-9_-]*$` or be an ARN",
    );
}

#[test]
fn cfn_logical_id() {
    let cases = [
        ("billing-api", "BillingApi"),
        ("my_service.v2", "MyServiceV2"),
        ("BillingAPI", "BillingAPI"),
        ("  spaced out  ", "SpacedOut"),
        ("123-queue", "123Queue"),
        ("café-api", "CafApi"),
    ];
    for (input, expect) in cases {
        assert_eq!(
            render_one(&format!("{{{{ {input:?} | cfn_logical_id }}}}")),
            expect,
            "{input}"
        );
    }
    check_error(
        &format!("{{{{ '{}' | cfn_logical_id }}}}", "a".repeat(256)),
        &format!(
            "invalid operation: cfn_logical_id: the logical id from \"{}\" is 256 characters, over CloudFormation's 255",
            "a".repeat(256)
        ),
    );
}

#[test]
fn to_yaml() {
    let rendered = render_one(
        "Resources:
  Service:
    Properties:
      Tags:
        {{ [{'Key': 'service', 'Value': service.name}, {'Key': 'note', 'Value': 'a: b # c'}] | to_yaml }}
      Inputs:
        {{ service_instance.inputs | to_yaml }}
      Port: {{ service_instance.inputs.port | to_yaml }}
      Empty: {{ [] | to_yaml }}
      Script: {{ 'echo one\necho two: three\n' | to_yaml }}
",
    );
    insta::assert_snapshot!("to_yaml", rendered);
    assert_eq!(
        yaml(&rendered),
        json!({"Resources": {"Service": {"Properties": {
            "Tags": [{"Key": "service", "Value": "billing-api"}, {"Key": "note", "Value": "a: b # c"}],
            "Inputs": {"port": 8080, "desired_count": 2, "image": "public.ecr.aws/nginx/nginx:1.27"},
            "Port": 8080,
            "Empty": [],
            "Script": "echo one\necho two: three\n"
        }}}})
    );
}

#[test]
fn to_json() {
    let cases = [
        (
            "{{ service_instance.inputs | to_json }}",
            r#"{"port":8080,"desired_count":2,"image":"public.ecr.aws/nginx/nginx:1.27"}"#,
        ),
        ("{{ '<b>&' | to_json }}", r#""<b>&""#),
        (
            "  x: {{ {'a': [1, 2]} | to_json(indent=2) }}",
            "  x: {\n       \"a\": [\n         1,\n         2\n       ]\n     }",
        ),
    ];
    for (template, expect) in cases {
        assert_eq!(render_one(template), expect);
    }
    let rendered =
        render_one("{\n  \"Inputs\": {{ service_instance.inputs | to_json(indent=2) }}\n}\n");
    insta::assert_snapshot!("to_json", rendered);
    let parsed: Value = serde_json::from_str(&rendered).expect("valid JSON");
    assert_eq!(parsed["Inputs"]["port"], 8080);
}

#[test]
fn debug_shows_json_not_engine_internals() {
    let whole = render_one("{{ debug() }}");
    let parsed: Value = serde_json::from_str(&whole).expect("debug() is JSON");
    assert_eq!(
        parsed,
        crate::proton_context(),
        "every variable, nothing else"
    );
    let one = render_one("Port: {{ debug(service_instance.inputs.port) }}");
    assert_eq!(one, "Port: 8080");
    let several = render_one("{{ debug(service.name, [1]) }}");
    assert_eq!(
        serde_json::from_str::<Value>(&several).ok(),
        Some(json!(["billing-api", [1]]))
    );
    for text in [&whole, &several] {
        for internal in ["State", "Environment", "Value(", "Some("] {
            assert!(!text.contains(internal), "`{internal}` in {text}");
        }
    }
}

#[track_caller]
fn check_error(template: &str, expect: &str) {
    let message = render_error(&files(&[("t.yaml", template)]), &Limits::default());
    assert_eq!(message, format!("`t.yaml` line 1: {expect}"));
}
