//! `/metrics`: Prometheus text format (0.0.4), through `prometheus-client`.
//!
//! - `moat_admission_decisions_total{decision,endpoint}`: requests by decision
//!   (`allow`, `deny`, `exempt`, `error`) and endpoint (`validate`, `mutate`).
//! - `moat_admission_request_duration_seconds{endpoint}`: time to answer an admission request.
//! - `moat_admission_errors_total{kind}`: `bad_request`, `too_large`, `unsupported_media_type`,
//!   `not_ready`, `policy_error`, `timeout`.
//! - `moat_admission_policies_loaded`: policies in the active set.
//! - `moat_admission_reloads_total{result}`: reloads, `success` or `failure`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds: 0.5 ms to 1 s.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DecisionLabels {
    decision: &'static str,
    endpoint: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The webhook's metrics and the registry that exposes them.
pub(crate) struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    latency: Family<EndpointLabels, Histogram>,
    errors: Family<KindLabels, Counter>,
    policies_loaded: Gauge,
    reloads: Family<ResultLabels, Counter>,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("moat_admission");
        let decisions = Family::<DecisionLabels, Counter>::default();
        let latency = Family::<EndpointLabels, Histogram>::new_with_constructor(latency_histogram as _);
        let errors = Family::<KindLabels, Counter>::default();
        let policies_loaded = Gauge::default();
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "decisions",
            "Admission requests answered, by decision and endpoint",
            decisions.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer an admission request",
            latency.clone(),
        );
        registry.register(
            "errors",
            "Requests that could not be read, and policy errors and timeouts",
            errors.clone(),
        );
        registry.register(
            "policies_loaded",
            "Policies in the active policy set",
            policies_loaded.clone(),
        );
        registry.register(
            "reloads",
            "Reloads of the configuration and policies, by result",
            reloads.clone(),
        );
        Metrics {
            registry,
            decisions,
            latency,
            errors,
            policies_loaded,
            reloads,
        }
    }

    /// Counts one answered admission request.
    pub(crate) fn decided(&self, endpoint: &'static str, decision: &'static str, took: Duration) {
        self.decisions
            .get_or_create(&DecisionLabels { decision, endpoint })
            .inc();
        self.latency
            .get_or_create(&EndpointLabels { endpoint })
            .observe(took.as_secs_f64());
    }

    /// Counts one error of `kind`.
    pub(crate) fn error(&self, kind: &'static str) {
        self.errors.get_or_create(&KindLabels { kind }).inc();
    }

    /// Sets the number of active policies.
    pub(crate) fn set_policies_loaded(&self, count: usize) {
        self.policies_loaded.set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// Counts one reload, successful or not.
    pub(crate) fn reloaded(&self, success: bool) {
        let result = if success { "success" } else { "failure" };
        self.reloads.get_or_create(&ResultLabels { result }).inc();
    }

    /// The metrics in Prometheus text format.
    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String does not fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

/// `Content-Type` of [`Metrics::render`].
pub(crate) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text() {
        let metrics = Metrics::new();
        metrics.decided("validate", "deny", Duration::from_millis(2));
        metrics.decided("validate", "deny", Duration::from_micros(300));
        metrics.error("timeout");
        metrics.set_policies_loaded(7);
        metrics.reloaded(false);
        let text = metrics.render();
        assert!(
            text.contains("moat_admission_decisions_total{decision=\"deny\",endpoint=\"validate\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("moat_admission_errors_total{kind=\"timeout\"} 1"),
            "{text}"
        );
        assert!(text.contains("moat_admission_policies_loaded 7"), "{text}");
        assert!(
            text.contains("moat_admission_reloads_total{result=\"failure\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "moat_admission_request_duration_seconds_bucket{endpoint=\"validate\",le=\"0.0005\"} 1"
            ),
            "{text}"
        );
    }
}
