//! Evaluation limits, so a broken or hostile policy cannot hang or exhaust the process.

use std::time::Duration;

/// Limits applied to every evaluation of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time one policy may spend on one review.
    pub time: Duration,
    /// Largest policy source (Rego module or CEL expression) accepted, in bytes.
    pub max_source_bytes: usize,
    /// Largest object accepted for review, in bytes of JSON.
    pub max_object_bytes: usize,
    /// Deepest nesting accepted in a reviewed object; deeper objects are refused before any
    /// policy sees them, which bounds recursion in the engines.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time: Duration::from_millis(500),
            max_source_bytes: 1 << 20,
            max_object_bytes: 3 << 20,
            max_depth: 64,
        }
    }
}

/// Refuses an object too large or too deeply nested to hand to the engines.
pub(crate) fn check_object(object: &serde_json::Value, limits: &Limits) -> Result<(), crate::EvalError> {
    let refuse = |message: String| crate::EvalError {
        policy: "-".into(),
        message,
        timed_out: false,
    };
    let depth = depth_of(object, limits.max_depth + 1);
    if depth > limits.max_depth {
        return Err(refuse(format!(
            "the object is nested deeper than the limit of {} levels",
            limits.max_depth
        )));
    }
    let size = serde_json::to_vec(object)
        .map(|bytes| bytes.len())
        .unwrap_or(usize::MAX);
    if size > limits.max_object_bytes {
        return Err(refuse(format!(
            "the object is {size} bytes of JSON, over the limit of {}",
            limits.max_object_bytes
        )));
    }
    Ok(())
}

/// Nesting depth of a value, counting stops at `cap` so hostile input costs little.
fn depth_of(value: &serde_json::Value, cap: usize) -> usize {
    if cap == 0 {
        return 0;
    }
    let children = |values: &mut dyn Iterator<Item = &serde_json::Value>| {
        1 + values.map(|v| depth_of(v, cap - 1)).max().unwrap_or(0)
    };
    match value {
        serde_json::Value::Array(items) => children(&mut items.iter()),
        serde_json::Value::Object(map) => children(&mut map.values()),
        _ => 1,
    }
}
