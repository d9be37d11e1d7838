//! A load balancer as a caller describes it, and its one conversion to the balancer's
//! configuration: every setting left unset takes its default here (ALB's: a 300-second
//! deregistration delay, a `GET /` health check every 30 s with a 5 s timeout, 5 successes
//! to be healthy, 2 failures to be unhealthy, `200-399`), whoever calls.

use std::time::Duration;

use paved_balancer::{HttpHealthCheck, Rule, TargetGroupConfig};

use crate::operations::FieldProblem;
use crate::scheduler::LoadBalancerConfig;

/// A cluster's load balancer, with the settings its caller gave.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancerSettings {
    /// 1-65535, or 0 for any free port.
    pub port: u32,
    pub rules: Vec<Rule>,
    pub default_target_group: Option<String>,
    pub target_groups: Vec<TargetGroupSettings>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetGroupSettings {
    pub name: String,
    pub health_check: Option<HealthCheckSettings>,
    pub deregistration_delay_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct HealthCheckSettings {
    pub path: Option<String>,
    pub interval_seconds: Option<f64>,
    pub timeout_seconds: Option<f64>,
    pub healthy_threshold: Option<u32>,
    pub unhealthy_threshold: Option<u32>,
    /// `200` or `200-399`.
    pub matcher: Option<String>,
}

impl LoadBalancerSettings {
    /// The balancer's configuration, with the defaults filled in, and the problems of values
    /// that cannot be one (the configuration's own rules are checked when it is put).
    pub fn config(&self) -> (LoadBalancerConfig, Vec<FieldProblem>) {
        let spec = self;
        let mut problems = Vec::new();
        let port = u16::try_from(spec.port).unwrap_or_else(|_| {
            problems.push(FieldProblem {
                field: "port".to_owned(),
                rule: "port",
                message: format!(
                    "port {} is out of range: give 1-65535, or 0 for any free port",
                    spec.port
                ),
            });
            0
        });
        let target_groups = spec
            .target_groups
            .iter()
            .enumerate()
            .map(|(index, group)| TargetGroupConfig {
                name: group.name.clone(),
                health_check: group.health_check.as_ref().map(|check| {
                    let defaults = HttpHealthCheck::default();
                    let matcher = match check.matcher.as_deref() {
                        None => defaults.matcher,
                        Some(text) => parse_matcher(text).unwrap_or_else(|| {
                            problems.push(FieldProblem {
                                field: format!("targetGroups[{index}].healthCheck.matcher"),
                                rule: "health-check",
                                message: format!(
                                    "`{text}` is not a status code or range: give `200` or `200-399`"
                                ),
                            });
                            defaults.matcher
                        }),
                    };
                    let mut seconds = |value: Option<f64>, name: &str, default: Duration| {
                        let Some(value) = value else {
                            return default;
                        };
                        Duration::try_from_secs_f64(value).unwrap_or_else(|_| {
                            problems.push(FieldProblem {
                                field: format!("targetGroups[{index}].healthCheck.{name}"),
                                rule: "health-check",
                                message: format!("{value} is not a number of seconds: give a positive number such as 5 or 0.5"),
                            });
                            default
                        })
                    };
                    let interval = seconds(check.interval_seconds, "intervalSeconds", defaults.interval);
                    let timeout = seconds(check.timeout_seconds, "timeoutSeconds", defaults.timeout);
                    HttpHealthCheck {
                        path: check.path.clone().unwrap_or(defaults.path),
                        interval,
                        timeout,
                        healthy_threshold: check
                            .healthy_threshold
                            .unwrap_or(defaults.healthy_threshold),
                        unhealthy_threshold: check
                            .unhealthy_threshold
                            .unwrap_or(defaults.unhealthy_threshold),
                        matcher,
                    }
                }),
                deregistration_delay: group
                    .deregistration_delay_seconds
                    .map_or(TargetGroupConfig::DEFAULT_DEREGISTRATION_DELAY, Duration::from_secs),
            })
            .collect();
        let config = LoadBalancerConfig {
            port,
            rules: spec.rules.clone(),
            default_target_group: spec.default_target_group.clone(),
            target_groups,
        };
        (config, problems)
    }
}

/// `200` or `200-399`.
fn parse_matcher(text: &str) -> Option<(u16, u16)> {
    let (low, high) = text.split_once('-').unwrap_or((text, text));
    Some((low.trim().parse().ok()?, high.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_settings_take_albs_defaults() {
        let settings = LoadBalancerSettings {
            port: 0,
            rules: Vec::new(),
            default_target_group: Some("web".to_owned()),
            target_groups: vec![TargetGroupSettings {
                name: "web".to_owned(),
                health_check: Some(HealthCheckSettings::default()),
                deregistration_delay_seconds: None,
            }],
        };
        let (config, problems) = settings.config();
        assert_eq!(problems, Vec::new());
        let group = &config.target_groups[0];
        assert_eq!(group.deregistration_delay, Duration::from_secs(300));
        assert_eq!(group.health_check, Some(HttpHealthCheck::default()));
    }

    #[test]
    fn impossible_values_are_problems() {
        let settings = LoadBalancerSettings {
            port: 70_000,
            rules: Vec::new(),
            default_target_group: None,
            target_groups: vec![TargetGroupSettings {
                name: "web".to_owned(),
                health_check: Some(HealthCheckSettings {
                    interval_seconds: Some(-1.0),
                    matcher: Some("ok".to_owned()),
                    ..HealthCheckSettings::default()
                }),
                deregistration_delay_seconds: Some(10),
            }],
        };
        let (config, problems) = settings.config();
        let fields: Vec<&str> = problems
            .iter()
            .map(|problem| problem.field.as_str())
            .collect();
        assert_eq!(
            fields,
            [
                "port",
                "targetGroups[0].healthCheck.matcher",
                "targetGroups[0].healthCheck.intervalSeconds"
            ]
        );
        assert_eq!(
            config.target_groups[0].deregistration_delay,
            Duration::from_secs(10)
        );
    }
}
