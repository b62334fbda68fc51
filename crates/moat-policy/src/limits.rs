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
    let size = json_size(object);
    if size > limits.max_object_bytes {
        return Err(refuse(format!(
            "the object is {size} bytes of JSON, over the limit of {}",
            limits.max_object_bytes
        )));
    }
    Ok(())
}

/// Bytes of `value` as compact JSON, counted as it is written rather than by building the
/// text: this runs on every review, and the text itself is not needed.
fn json_size(value: &serde_json::Value) -> usize {
    /// A writer that keeps only the count of what it was given.
    struct ByteCount(usize);
    impl std::io::Write for ByteCount {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(bytes.len());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = ByteCount(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counted_size_is_the_length_of_the_json_text() {
        let value = serde_json::json!({"a": [1, "two", {"b": null}], "ü": "x\"y"});
        let text = serde_json::to_vec(&value).unwrap();
        assert_eq!(json_size(&value), text.len());
    }

    #[test]
    fn an_object_over_the_byte_limit_is_refused_with_its_size() {
        let object = serde_json::json!({"data": "x".repeat(100)});
        let size = serde_json::to_vec(&object).unwrap().len();
        let exact = Limits {
            max_object_bytes: size,
            ..Limits::default()
        };
        assert!(check_object(&object, &exact).is_ok());
        let smaller = Limits {
            max_object_bytes: size - 1,
            ..Limits::default()
        };
        let error = check_object(&object, &smaller).expect_err("refused");
        assert!(
            error.message.contains(&format!("is {size} bytes of JSON")),
            "{error:?}"
        );
    }
}
