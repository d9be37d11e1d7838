//! The desired state of a balancer: listeners with their rules, and target groups with their settings.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::BalancerError;

/// Everything [`crate::Balancer::apply`] converges to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalancerConfig {
    pub listeners: Vec<ListenerConfig>,
    pub target_groups: Vec<TargetGroupConfig>,
}

/// One HTTP listener on `127.0.0.1:port`; in Paved, one per environment (ECS cluster).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerConfig {
    /// The listener's name: the environment or cluster it serves.
    pub name: String,
    /// The port to bind on 127.0.0.1; 0 takes any free port (and keeps it across `apply` calls).
    pub port: u16,
    /// Evaluated by ascending priority; the first match wins.
    pub rules: Vec<Rule>,
    /// Where a request goes when no rule matches; without one, such a request gets a 404.
    pub default_target_group: Option<String>,
}

/// A forward rule: when every non-empty condition list has a matching value, forward to `target_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// Unique within a listener; lower is evaluated first.
    pub priority: u32,
    /// Host names, case-insensitive, with `*` and `?` wildcards; the Host header's port is ignored.
    #[serde(default)]
    pub host_headers: Vec<String>,
    /// Paths, case-sensitive, with `*` and `?` wildcards; matched against the path without its query.
    #[serde(default)]
    pub path_patterns: Vec<String>,
    pub target_group: String,
}

/// A target group's settings; its targets come and go through `register` and `deregister`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupConfig {
    /// The target group's ARN or name.
    pub name: String,
    /// Without a health check, a registered target is healthy at once.
    #[serde(default)]
    pub health_check: Option<HttpHealthCheck>,
    /// The longest a deregistered target keeps serving its in-flight requests
    /// (`deregistrationDelaySeconds`, ALB's default 300).
    #[serde(
        rename = "deregistrationDelaySeconds",
        with = "seconds",
        default = "default_deregistration_delay"
    )]
    pub deregistration_delay: Duration,
}

fn default_deregistration_delay() -> Duration {
    TargetGroupConfig::DEFAULT_DEREGISTRATION_DELAY
}

/// Durations in configuration files are seconds (fractions allowed: `0.2`), as ALB's
/// `…Seconds` settings are.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(duration.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let seconds = f64::deserialize(deserializer)?;
        Duration::try_from_secs_f64(seconds).map_err(|_| {
            serde::de::Error::custom(format!(
                "{seconds} is not a duration: use a number of seconds, 0 or more"
            ))
        })
    }
}

impl TargetGroupConfig {
    /// ALB's default deregistration delay, used for a target group that only exists because a
    /// target was registered into it before any `apply` named it.
    pub const DEFAULT_DEREGISTRATION_DELAY: Duration = Duration::from_secs(300);
}

/// An HTTP `GET` health check, run per target; fields left out take ALB's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HttpHealthCheck {
    pub path: String,
    #[serde(rename = "intervalSeconds", with = "seconds")]
    pub interval: Duration,
    #[serde(rename = "timeoutSeconds", with = "seconds")]
    pub timeout: Duration,
    /// Consecutive successes that make a target healthy (at least 1).
    pub healthy_threshold: u32,
    /// Consecutive failures that make a target unhealthy (at least 1).
    pub unhealthy_threshold: u32,
    /// The inclusive range of status codes that count as a success.
    pub matcher: (u16, u16),
}

impl Default for HttpHealthCheck {
    /// ALB's defaults, except the matcher (ALB's is `200`; Paved accepts `200..=399`).
    fn default() -> HttpHealthCheck {
        HttpHealthCheck {
            path: "/".to_owned(),
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: (200, 399),
        }
    }
}

/// Checks what `apply` cannot do, before anything changes.
pub(crate) fn validate(config: &BalancerConfig) -> Result<(), BalancerError> {
    let mut target_groups = HashSet::new();
    for target_group in &config.target_groups {
        if !target_groups.insert(target_group.name.as_str()) {
            return Err(BalancerError::DuplicateTargetGroup {
                target_group: target_group.name.clone(),
            });
        }
    }
    let mut listeners = HashSet::new();
    let mut ports = HashMap::new();
    for listener in &config.listeners {
        if !listeners.insert(listener.name.as_str()) {
            return Err(BalancerError::DuplicateListener {
                listener: listener.name.clone(),
            });
        }
        if listener.port != 0
            && let Some(other) = ports.insert(listener.port, listener.name.as_str())
        {
            return Err(BalancerError::DuplicatePort {
                listener: listener.name.clone(),
                other_listener: other.to_owned(),
                port: listener.port,
            });
        }
        let mut priorities = HashSet::new();
        for rule in &listener.rules {
            if !priorities.insert(rule.priority) {
                return Err(BalancerError::DuplicatePriority {
                    listener: listener.name.clone(),
                    priority: rule.priority,
                });
            }
        }
        let forwarded = listener
            .rules
            .iter()
            .map(|rule| &rule.target_group)
            .chain(&listener.default_target_group);
        for target_group in forwarded {
            if !target_groups.contains(target_group.as_str()) {
                return Err(BalancerError::UnknownTargetGroup {
                    listener: listener.name.clone(),
                    target_group: target_group.clone(),
                });
            }
        }
    }
    Ok(())
}
