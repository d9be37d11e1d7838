//! Rendering Proton-style bundles: nested context, loops, templated paths, includes, raw output.

use paved_template::{Limits, Newlines, RenderedFile, render_files};

use crate::{files, proton_context, render, render_one};

#[track_caller]
fn check(text: &str, expect: &str) {
    assert_eq!(render_one(text), expect, "template:\n{text}");
}

#[test]
fn expressions() {
    let cases = [
        ("{{ environment.outputs.VpcId }}", "vpc-0abc1234"),
        ("{{ service_instance.inputs.port }}", "8080"),
        ("{{ service.name }}", "billing-api"),
        ("{{ service_instance.inputs.port + 1 }}", "8081"),
        // No auto-escaping: not JSON for `.yaml`, not HTML.
        (
            "{{ service.name | cfn_logical_id }}TaskDef",
            "BillingApiTaskDef",
        ),
        ("{{ '<a & \"b\">' }}", "<a & \"b\">"),
        // Strict, yet absent values can be tested and defaulted, as Proton's docs do.
        (
            "{{ service_instance.inputs.missing | default('[optional-value]') }}",
            "[optional-value]",
        ),
        (
            "{% if service_instance.inputs.missing is defined %}yes{% else %}no{% endif %}",
            "no",
        ),
        (
            "{% for i in range(3) %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}{% endfor %}",
            "02",
        ),
        ("{{ 'a b' | urlencode }}", "a%20b"),
        // The trailing line break stays.
        ("Name: {{ service.name }}\n", "Name: billing-api\n"),
        ("plain: text\n\n", "plain: text\n\n"),
    ];
    for (text, expect) in cases {
        check(text, expect);
    }
}

const SERVICE_TEMPLATE: &str = r#"AWSTemplateFormatVersion: '2010-09-09'
Description: {{ service.name }} in {{ environment.name }}
Resources:
  {{ service.name | cfn_logical_id }}TaskDef:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: '{{ service.name }}-{{ environment.name }}'
      ContainerDefinitions:
        - Name: '{{ service_instance.name }}'
          Image: '{{ service_instance.inputs.image }}'
          PortMappings:
            - ContainerPort: {{ service_instance.inputs.port }}
          Environment:
            {{ service_instance.components.default.outputs
              | proton_cfn_ecs_task_definition_formatted_env_vars }}
  {{ service.name | cfn_logical_id }}Service:
    Type: AWS::ECS::Service
    Properties:
      Cluster: {{ environment.outputs.ClusterName }}
      DesiredCount: {{ service_instance.inputs.desired_count }}
      NetworkConfiguration:
        AwsvpcConfiguration:
          Subnets: []
          # VPC {{ environment.outputs.VpcId }}
  TaskRole:
    Type: AWS::IAM::Role
    Properties:
      ManagedPolicyArns:
        - !Ref BaseTaskRoleManagedPolicy
        {{ service_instance.components.default.outputs | proton_cfn_iam_policy_arns }}
"#;

#[test]
fn proton_service_instance() {
    let rendered = render_one(SERVICE_TEMPLATE);
    insta::assert_snapshot!(rendered);
}

#[test]
fn pipeline_loops_over_service_instances() {
    let text = r#"Resources:
{% for service_instance in service_instances %}
  {{ service_instance.name | cfn_logical_id }}Deploy:
    Environment: {{ service_instance.environment }}
    Port: {{ service_instance.inputs.port }}
{% endfor %}"#;
    insta::assert_snapshot!(render_one(text), @r"
    Resources:

      BillingApiStagingDeploy:
        Environment: staging
        Port: 8081

      BillingApiProdDeploy:
        Environment: prod
        Port: 8080
    ");
}

#[test]
fn paths_are_templated_and_sorted() {
    let bundle = files(&[
        (
            "{{ service.name }}/main.py",
            "print('{{ service.name }}')\n",
        ),
        ("./README.md", "# {{ service.name }}\n"),
        (
            "infrastructure/{{ environment.name }}.yaml",
            "VpcId: {{ environment.outputs.VpcId }}\n",
        ),
    ]);
    let rendered = render(&bundle).expect("renders");
    let paths: Vec<&str> = rendered.iter().map(|file| file.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "README.md",
            "billing-api/main.py",
            "infrastructure/prod.yaml"
        ]
    );
    assert_eq!(rendered[1].contents, "print('billing-api')\n");
}

#[test]
fn deterministic() {
    let bundle = files(&[
        ("infrastructure/cloudformation.yaml", SERVICE_TEMPLATE),
        (
            "{{ service.name }}/config.json",
            "{{ service_instance | to_json(indent=2) }}\n",
        ),
        ("values.yaml", "{{ service_instance | to_yaml }}\n"),
    ]);
    let first = render(&bundle).expect("renders");
    let second = render(&bundle).expect("renders");
    assert_eq!(first, second);
    let mut reversed = bundle.clone();
    reversed.reverse();
    assert_eq!(
        render(&reversed).expect("renders"),
        first,
        "input order does not matter"
    );
}

#[test]
fn include_and_import_other_bundle_files() {
    let bundle = files(&[
        (
            "infrastructure/cloudformation.yaml",
            r#"{% import "infrastructure/macros.j2" as m %}Tags:
{% include "infrastructure/tags.yaml" %}
Name: {{ m.logical(service.name, "Queue") }}
"#,
        ),
        (
            "infrastructure/tags.yaml",
            "  - Key: service\n    Value: {{ service.name }}\n",
        ),
        (
            "infrastructure/macros.j2",
            "{% macro logical(name, kind) %}{{ name | cfn_logical_id }}{{ kind }}{% endmacro %}",
        ),
    ]);
    let rendered = render(&bundle).expect("renders");
    let main = rendered
        .iter()
        .find(|file| file.path == "infrastructure/cloudformation.yaml")
        .expect("the main file is rendered");
    assert_eq!(
        main.contents,
        "Tags:\n  - Key: service\n    Value: billing-api\n\nName: BillingApiQueue\n"
    );
    // Every file is rendered, partials included; choosing which to keep is the caller's job.
    assert_eq!(rendered.len(), 3);
}

#[test]
fn empty_bundle_and_context() {
    assert_eq!(
        render_files(
            &[],
            &serde_json::json!({}),
            &Limits::default(),
            Newlines::AsWritten
        ),
        Ok(Vec::new())
    );
    let rendered = render_files(
        &files(&[("a.txt", "static")]),
        &serde_json::json!({}),
        &Limits::default(),
        Newlines::AsWritten,
    );
    assert_eq!(rendered, Ok(vec![RenderedFile::text("a.txt", "static")]));
    assert!(proton_context().is_object());
}
