//! The filters templates can use besides minijinja's built-in ones.
//!
//! AWS Proton's CloudFormation filters, so Proton bundles render unchanged (as documented in
//! "Parameter filters for CloudFormation IaC files", AWS Proton User Guide,
//! <https://docs.aws.amazon.com/proton/latest/userguide/parameter-filters.html>):
//!
//! | filter | input → output |
//! |---|---|
//! | [`proton_cfn_ecs_task_definition_formatted_env_vars`] | mapping → ECS `Environment` list, block style |
//! | [`proton_cfn_lambda_function_formatted_env_vars`] | mapping → Lambda `Variables` mapping, inline |
//! | [`proton_cfn_iam_policy_arns`] | mapping or list → YAML list items of IAM policy ARNs |
//! | [`proton_cfn_sanitize`] | string → the same string, if it is safe |
//!
//! Paved's own: [`cfn_logical_id`], [`to_yaml`], [`to_json`], and the global function
//! [`debug`], which replaces minijinja's (that one prints Rust's debug form of the engine's
//! internal state).
//!
//! Filters whose output spans several lines (`proton_cfn_iam_policy_arns`, `to_yaml`, an
//! indented `to_json`) keep the column they start in: every line after the first is indented to
//! where the `{{` put the first one, so the result nests in the surrounding YAML.
//!
//! Scalars are written so YAML reads them back as the same strings: inline lists and mappings
//! use JSON's quoting (JSON is YAML), so values with `: `, `#`, quotes or line breaks cannot
//! change the document's structure.

use std::collections::BTreeMap;

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State};

use crate::block::block;

/// Registers every filter of this module on `env`.
pub(crate) fn register(env: &mut Environment<'_>) {
    env.add_filter(
        "proton_cfn_ecs_task_definition_formatted_env_vars",
        proton_cfn_ecs_task_definition_formatted_env_vars,
    );
    env.add_filter(
        "proton_cfn_lambda_function_formatted_env_vars",
        proton_cfn_lambda_function_formatted_env_vars,
    );
    env.add_filter("proton_cfn_iam_policy_arns", proton_cfn_iam_policy_arns);
    env.add_filter("proton_cfn_sanitize", proton_cfn_sanitize);
    env.add_filter("cfn_logical_id", cfn_logical_id);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_json", to_json);
    env.add_function("debug", debug);
}

/// `debug()`: every variable of the render context, as indented JSON sorted by name;
/// `debug(x)`: `x` as indented JSON; `debug(x, y, ...)`: a list of them. The sandbox's own
/// functions (`range`, `dict`, ...) are not variables and are left out.
pub fn debug(state: &State<'_, '_>, values: Rest<Value>) -> Result<String, Error> {
    let text = match values.len() {
        0 => {
            let globals: Vec<&str> = state.env().globals().map(|(name, _)| name).collect();
            let context: BTreeMap<String, Value> = state
                .known_variables()
                .into_iter()
                .filter(|name| !globals.contains(&name.as_ref()))
                .filter_map(|name| {
                    let value = state.lookup(&name)?;
                    Some((name.into_owned(), value))
                })
                .collect();
            serde_json::to_string_pretty(&context)
        }
        1 => serde_json::to_string_pretty(&values[0]),
        _ => serde_json::to_string_pretty(&values.0),
    }
    .map_err(|err| invalid(format!("debug: cannot show the value as JSON: {err}")))?;
    Ok(block(&text))
}

/// `mapping | proton_cfn_ecs_task_definition_formatted_env_vars(raw=True)`: the `Environment`
/// property of an ECS container definition, one `Name`/`Value` item per entry, in the mapping's
/// order, as a block-style list, as Proton documents it:
///
/// ```yaml
/// Environment:
///   {{ service_instance.components.default.outputs
///     | proton_cfn_ecs_task_definition_formatted_env_vars }}
/// # Environment:
/// #   - Name: Output1
/// #     Value: hello
/// ```
///
/// The lines keep the column the first starts in, so the items can follow items written in the
/// template. An empty mapping gives `[]`. Numbers and booleans become strings; other values are
/// an error. With `raw=False`, every value must match `^[a-zA-Z0-9_-]*$`.
pub fn proton_cfn_ecs_task_definition_formatted_env_vars(
    value: &Value,
    raw: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    const FILTER: &str = "proton_cfn_ecs_task_definition_formatted_env_vars";
    let validate = !raw_flag(FILTER, raw, &kwargs)?;
    let entries = string_entries(FILTER, value, validate)?;
    if entries.is_empty() {
        return Ok("[]".to_owned());
    }
    let lines: Vec<String> = entries
        .iter()
        .map(|(name, value)| format!("- Name: {}\n  Value: {}", scalar(name), scalar(value)))
        .collect();
    Ok(block(&lines.join("\n")))
}

/// A string as a YAML scalar that reads back as the same string: plain when it is a word
/// (`^[a-zA-Z0-9_-]*$`, not a number or a YAML keyword), JSON-quoted otherwise.
fn scalar(text: &str) -> String {
    let keyword = matches!(
        text.to_ascii_lowercase().as_str(),
        "" | "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "~"
    );
    let numeric = text.parse::<f64>().is_ok() || text.starts_with('-');
    if is_plain_word(text) && !keyword && !numeric {
        text.to_owned()
    } else {
        quote(text)
    }
}

/// `mapping | proton_cfn_lambda_function_formatted_env_vars(raw=True)`: the `Variables` of a
/// Lambda function's `Environment`, in the mapping's order, as an inline (flow) mapping:
///
/// ```yaml
/// Variables: {{ service_instance.components.default.outputs
///   | proton_cfn_lambda_function_formatted_env_vars }}
/// # Variables: {"Output1": "hello", "Output2": "world"}
/// ```
///
/// Same value rules and `raw` as [`proton_cfn_ecs_task_definition_formatted_env_vars`].
pub fn proton_cfn_lambda_function_formatted_env_vars(
    value: &Value,
    raw: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    const FILTER: &str = "proton_cfn_lambda_function_formatted_env_vars";
    let validate = !raw_flag(FILTER, raw, &kwargs)?;
    let entries = string_entries(FILTER, value, validate)?;
    let items: Vec<String> = entries
        .iter()
        .map(|(name, value)| format!("{}: {}", quote(name), quote(value)))
        .collect();
    Ok(format!("{{{}}}", items.join(", ")))
}

/// `outputs | proton_cfn_iam_policy_arns`: the customer-managed IAM policy ARNs among the
/// values of a mapping (Proton's use: a component's outputs) or the items of a list, as YAML
/// list items to append to a role's `ManagedPolicyArns`:
///
/// ```yaml
/// ManagedPolicyArns:
///   - !Ref BaseTaskRoleManagedPolicy
///   {{ service_instance.components.default.outputs | proton_cfn_iam_policy_arns }}
/// # ManagedPolicyArns:
/// #   - !Ref BaseTaskRoleManagedPolicy
/// #   - arn:aws:iam::123456789012:policy/cfn-generated-policy-name-1
/// #   - arn:aws:iam::123456789012:policy/cfn-generated-policy-name-2
/// ```
///
/// As in Proton, a value is kept when it matches `^arn:[a-zA-Z-]+:iam::\d{12}:policy/` and
/// everything else (other outputs, AWS-managed `arn:aws:iam::aws:policy/...`) is dropped; no
/// match gives an empty string. ARNs are written plain, or JSON-quoted if they contain anything
/// but `A-Za-z0-9_+=,.@/:-`.
pub fn proton_cfn_iam_policy_arns(value: &Value) -> Result<String, Error> {
    const FILTER: &str = "proton_cfn_iam_policy_arns";
    let json = to_serde(FILTER, value)?;
    let candidates: Vec<&serde_json::Value> = match &json {
        serde_json::Value::Object(map) => map.values().collect(),
        serde_json::Value::Array(items) => items.iter().collect(),
        other => {
            return Err(invalid(format!(
                "{FILTER}: expected a mapping or a list of ARNs, got {}",
                json_kind(other)
            )));
        }
    };
    let lines: Vec<String> = candidates
        .into_iter()
        .filter_map(serde_json::Value::as_str)
        .filter(|arn| is_iam_policy_arn(arn))
        .map(|arn| {
            if arn
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@/:-".contains(c))
            {
                format!("- {arn}")
            } else {
                format!("- {}", quote(arn))
            }
        })
        .collect();
    Ok(block(&lines.join("\n")))
}

/// `value | proton_cfn_sanitize`: the value unchanged if it matches `^[a-zA-Z0-9_-]*$` or is an
/// ARN; otherwise rendering fails, so an untrusted value (a component output) cannot inject
/// YAML.
///
/// An ARN here is `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` with a partition of
/// `a-z0-9-`, a non-empty service of `a-zA-Z0-9-`, a region of `a-z0-9-`, an account that is
/// empty, 12 digits or `aws`, and a non-empty resource of `A-Za-z0-9_+=,.@/:*-`. Numbers and
/// booleans are checked as their text.
pub fn proton_cfn_sanitize(value: &Value) -> Result<String, Error> {
    const FILTER: &str = "proton_cfn_sanitize";
    let text = scalar_text(FILTER, None, &to_serde(FILTER, value)?)?;
    if is_plain_word(&text) || is_arn(&text) {
        Ok(text)
    } else {
        Err(invalid(format!(
            "{FILTER}: illegal characters in {}: it must match `^[a-zA-Z0-9_-]*$` or be an ARN",
            quote(&text)
        )))
    }
}

/// `name | cfn_logical_id`: a CloudFormation logical id made from any string: the runs of
/// ASCII letters and digits, each with its first letter upper-cased, joined (PascalCase).
/// `billing-api` → `BillingApi`, `my_service.v2` → `MyServiceV2`, `BillingAPI` stays
/// `BillingAPI`. Fails if the result is empty or longer than CloudFormation's 255 characters.
pub fn cfn_logical_id(value: &str) -> Result<String, Error> {
    let mut id = String::with_capacity(value.len());
    for word in value.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    if id.is_empty() {
        return Err(invalid(format!(
            "cfn_logical_id: {} has no ASCII letters or digits to make a logical id from",
            quote(value)
        )));
    }
    if id.len() > 255 {
        return Err(invalid(format!(
            "cfn_logical_id: the logical id from {} is {} characters, over CloudFormation's 255",
            quote(value),
            id.len()
        )));
    }
    Ok(id)
}

/// `value | to_yaml`: the value as block-style YAML (mappings keep their order), without a
/// trailing line break; its lines keep the column the first one starts in:
///
/// ```yaml
/// Tags:
///   {{ tags | to_yaml }}
/// ```
///
/// A string becomes a YAML scalar, quoted where YAML needs it.
pub fn to_yaml(value: &Value) -> Result<String, Error> {
    let text = serde_saphyr::to_string(value)
        .map_err(|err| invalid(format!("to_yaml: cannot write the value as YAML: {err}")))?;
    Ok(block(&text))
}

/// `value | to_json` or `value | to_json(indent=2)`: the value as JSON (mappings keep their
/// order). Compact on one line by default, which is also inline YAML; with `indent`, pretty with
/// that many spaces per level, its lines keeping the column the first one starts in. Unlike
/// minijinja's `tojson`, nothing is HTML-escaped.
pub fn to_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    kwargs.assert_all_used()?;
    let result = match indent {
        None => serde_json::to_string(value),
        Some(width) => {
            let spaces = " ".repeat(width.min(16));
            let formatter = serde_json::ser::PrettyFormatter::with_indent(spaces.as_bytes());
            let mut out = Vec::new();
            let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
            serde::Serialize::serialize(value, &mut serializer)
                .map(|()| String::from_utf8_lossy(&out).into_owned())
        }
    };
    let text =
        result.map_err(|err| invalid(format!("to_json: cannot write the value as JSON: {err}")))?;
    Ok(block(&text))
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// A string as a JSON string literal, which is also a YAML double-quoted scalar.
fn quote(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

fn to_serde(filter: &str, value: &Value) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value)
        .map_err(|err| invalid(format!("{filter}: cannot read the value: {err}")))
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "none",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}

/// Proton's `raw` argument, positional or keyword; `True` when absent.
fn raw_flag(filter: &str, positional: Option<bool>, kwargs: &Kwargs) -> Result<bool, Error> {
    let keyword: Option<bool> = kwargs.get("raw")?;
    kwargs.assert_all_used()?;
    match (positional, keyword) {
        (Some(_), Some(_)) => Err(Error::new(
            ErrorKind::TooManyArguments,
            format!("{filter}: `raw` is given twice"),
        )),
        (positional, keyword) => Ok(positional.or(keyword).unwrap_or(true)),
    }
}

/// The entries of a mapping as strings, in order; with `validate`, values must be plain words.
fn string_entries(
    filter: &str,
    value: &Value,
    validate: bool,
) -> Result<Vec<(String, String)>, Error> {
    let map = match to_serde(filter, value)? {
        serde_json::Value::Object(map) => map,
        other => {
            return Err(invalid(format!(
                "{filter}: expected a mapping of names to values, got {}",
                json_kind(&other)
            )));
        }
    };
    map.iter()
        .map(|(name, value)| {
            let text = scalar_text(filter, Some(name), value)?;
            if validate && !is_plain_word(&text) {
                return Err(invalid(format!(
                    "{filter}: illegal characters in {} (`{name}`): with raw=False it must match `^[a-zA-Z0-9_-]*$`",
                    quote(&text)
                )));
            }
            Ok((name.clone(), text))
        })
        .collect()
}

/// A string, number or boolean as text.
fn scalar_text(
    filter: &str,
    name: Option<&str>,
    value: &serde_json::Value,
) -> Result<String, Error> {
    match value {
        serde_json::Value::String(text) => Ok(text.clone()),
        serde_json::Value::Number(number) => Ok(number.to_string()),
        serde_json::Value::Bool(flag) => Ok(flag.to_string()),
        other => {
            let what = name
                .map(|name| format!(" for `{name}`"))
                .unwrap_or_default();
            Err(invalid(format!(
                "{filter}: expected a string, number or boolean{what}, got {}",
                json_kind(other)
            )))
        }
    }
}

/// `^[a-zA-Z0-9_-]*$`
fn is_plain_word(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `^arn:[a-zA-Z-]+:iam::\d{12}:policy/`, the prefix Proton uses to find policy ARNs.
fn is_iam_policy_arn(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("arn:") else {
        return false;
    };
    let Some((partition, rest)) = rest.split_once(':') else {
        return false;
    };
    if partition.is_empty()
        || !partition
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '-')
    {
        return false;
    }
    let Some(rest) = rest.strip_prefix("iam::") else {
        return false;
    };
    let Some((account, rest)) = rest.split_once(':') else {
        return false;
    };
    account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && rest.starts_with("policy/")
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, see [`proton_cfn_sanitize`].
fn is_arn(text: &str) -> bool {
    let mut parts = text.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let lower = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    !partition.is_empty()
        && lower(partition)
        && !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && lower(region)
        && (account.is_empty()
            || account == "aws"
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
        && !resource.is_empty()
        && resource
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@/:*-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        let cases = [
            (
                "arn:aws:iam::123456789012:policy/cfn-generated-policy-name-1",
                true,
                true,
            ),
            (
                "arn:aws-us-gov:iam::123456789012:policy/path/name",
                true,
                true,
            ),
            ("arn:aws:iam::aws:policy/ReadOnlyAccess", false, true),
            (
                "arn:aws:iam::12345678901:policy/short-account",
                false,
                false,
            ),
            ("arn:aws:iam::123456789012:role/not-a-policy", false, true),
            (
                "arn:aws:some-service::123456789012:some-resource/resource-name",
                false,
                true,
            ),
            ("arn:aws:s3:::my-bucket", false, true),
            ("arn:aws:s3:::my bucket", false, false),
            ("arn:aws:s3:::", false, false),
            ("this::is::incorrect", false, false),
            ("hello", false, false),
        ];
        for (text, policy, arn) in cases {
            assert_eq!(is_iam_policy_arn(text), policy, "policy arn {text}");
            assert_eq!(is_arn(text), arn, "arn {text}");
        }
    }
}
