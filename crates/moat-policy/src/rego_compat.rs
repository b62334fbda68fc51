//! Source rewrites that make the Rego interpreter read two constructs the way OPA does.
//!
//! Gatekeeper templates are written for OPA. The interpreter differs from OPA on two points the
//! Gatekeeper library relies on, and neither can be configured:
//!
//! - OPA ends a term at a newline, so a line starting with `(` after a line ending in a
//!   reference begins a new expression; the interpreter reads it as a call of that reference
//!   (`input.parameters.x` + newline + `(a - b) >= c` becomes a call of `input.parameters.x`).
//!   Fix: put an expression separator `;` before such a `(`.
//! - OPA v0 syntax lets one head carry several bodies (`f(x) = y { a } { b }`, meaning two
//!   definitions); the interpreter takes the second body for an `else` and refuses it.
//!   Fix: repeat the head before each further body.
//!
//! Both rewrites work on tokens (strings, raw strings and comments are skipped) and keep line
//! numbers, so error messages still point at the template's own lines.

/// Keywords after which a `(` on the next line still belongs to the same expression.
const KEYWORDS: [&str; 12] = [
    "not", "some", "every", "in", "with", "as", "if", "contains", "else", "default", "import", "package",
];

/// A token boundary the rewrites care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    /// Start of the text, or an operator/punctuation that cannot end a term.
    Other,
    /// Something that ends a term: identifier, number, string, `)` or `]`.
    TermEnd,
    /// A keyword.
    Keyword,
    /// A `}` that closed a rule body at the top level.
    BodyEnd,
}

/// Rewrites `source` as described in the module documentation.
pub(crate) fn rewrite(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len() + 64);
    let mut stack: Vec<u8> = Vec::new();
    let mut last = Last::Other;
    let mut newline_since_last = false;
    let mut rule_start: Option<usize> = None;
    let mut head: Option<String> = None;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\n' => {
                newline_since_last = true;
                out.push('\n');
                i += 1;
            }
            b' ' | b'\t' | b'\r' => {
                out.push(c as char);
                i += 1;
            }
            b'#' => {
                let end = source[i..].find('\n').map_or(bytes.len(), |n| i + n);
                out.push_str(&source[i..end]);
                i = end;
            }
            b'"' | b'`' => {
                let end = string_end(bytes, i);
                if stack.is_empty() && rule_start.is_none() {
                    rule_start = Some(i);
                }
                out.push_str(&source[i..end]);
                i = end;
                (last, newline_since_last) = (Last::TermEnd, false);
            }
            _ if c.is_ascii_alphanumeric() || c == b'_' => {
                let end = i + source[i..]
                    .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                    .unwrap_or(bytes.len() - i);
                let word = &source[i..end];
                let starts_statement = rule_start.is_none()
                    || last == Last::BodyEnd
                    || (newline_since_last && last == Last::TermEnd);
                if stack.is_empty() && starts_statement && word != "else" {
                    rule_start = Some(i);
                    head = None;
                }
                out.push_str(word);
                i = end;
                last = if KEYWORDS.contains(&word) {
                    Last::Keyword
                } else {
                    Last::TermEnd
                };
                newline_since_last = false;
            }
            b'(' => {
                if newline_since_last && last == Last::TermEnd && stack.last() == Some(&b'{') {
                    out.push(';');
                }
                stack.push(c);
                out.push('(');
                i += 1;
                (last, newline_since_last) = (Last::Other, false);
            }
            b'{' => {
                if stack.is_empty() {
                    match (last, &head) {
                        (Last::BodyEnd, Some(head)) => {
                            out.push_str(head);
                            out.push(' ');
                        }
                        _ => head = rule_start.map(|start| source[start..i].trim_end().replace('\n', " ")),
                    }
                }
                stack.push(c);
                out.push('{');
                i += 1;
                (last, newline_since_last) = (Last::Other, false);
            }
            b'[' => {
                if stack.is_empty() && rule_start.is_none() {
                    rule_start = Some(i);
                }
                stack.push(c);
                out.push('[');
                i += 1;
                (last, newline_since_last) = (Last::Other, false);
            }
            b')' | b']' | b'}' => {
                stack.pop();
                out.push(c as char);
                i += 1;
                last = if c == b'}' && stack.is_empty() {
                    Last::BodyEnd
                } else {
                    Last::TermEnd
                };
                newline_since_last = false;
            }
            _ => {
                let ch = source[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
                (last, newline_since_last) = (Last::Other, false);
            }
        }
    }
    out
}

/// The index just past the string starting at `start` (a `"` string with escapes, or a raw
/// `` ` `` string); the end of the text when it is not closed.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(rego: &str, query: &str) -> String {
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(true);
        engine.add_policy("t.rego".into(), rewrite(rego)).unwrap();
        engine.set_input(regorus::Value::from(
            serde_json::json!({"a": 5, "b": 2, "min": 2, "kind": "Job"}),
        ));
        let value = engine.eval_rule(query.into()).unwrap();
        serde_json::to_string(&value).unwrap()
    }

    #[test]
    fn a_parenthesis_on_a_new_line_starts_an_expression() {
        let rego = "package t\n\nspread_ok {\n  input.min\n  (input.a - input.b) >= input.min\n}\n";
        assert!(rewrite(rego).contains(";(input.a"));
        assert_eq!(eval(rego, "data.t.spread_ok"), "true");
        let call = "package t\nf(x) = y { y := x }\nv = r { r := f(\n  1) }\n";
        assert_eq!(rewrite(call), call, "arguments inside a call are left alone");
    }

    #[test]
    fn several_bodies_become_several_definitions() {
        let rego = "package t\n\nkind_of(obj) = k {\n  obj.kind == \"Pod\"\n  k := \"pod\"\n} {\n  obj.kind == \"Job\"\n  k := \"job\"\n}\n\nv = kind_of(input)\n";
        let rewritten = rewrite(rego);
        assert_eq!(
            rewritten.lines().count(),
            rego.lines().count(),
            "line numbers are kept"
        );
        assert!(rewritten.contains("} kind_of(obj) = k {"), "{rewritten}");
        assert_eq!(eval(rego, "data.t.v"), "\"job\"");
    }

    #[test]
    fn strings_comments_and_else_are_untouched() {
        let rego = "package t\n# a (comment) {\nx = \"}{ (\" { true }\nf = 1 { false } else = 2 { true }\n";
        assert_eq!(rewrite(rego), rego);
    }
}

/// Makes `sprintf` format the way OPA's does, with Go's `fmt`: a verb without an argument
/// prints `%!v(MISSING)` and an extra argument `%!(EXTRA ...)`, where the interpreter fails
/// the call and so leaves the whole rule undefined. One Gatekeeper library template
/// (horizontalpodautoscaler) has six verbs and five arguments, and OPA still reports it.
pub(crate) fn install_go_sprintf(engine: &mut regorus::Engine) {
    // Installed once per fresh engine; a failure means an extension of this name exists
    // already, which leaves the interpreter's own sprintf, so it is not an error.
    let _ = engine.add_extension(
        "sprintf".to_string(),
        2,
        Box::new(|args: Vec<regorus::Value>| {
            let (Some(regorus::Value::String(format)), Some(regorus::Value::Array(values))) =
                (args.first(), args.get(1))
            else {
                return Ok(regorus::Value::Undefined);
            };
            let list: Vec<regorus::Value> = values.iter().cloned().collect();
            Ok(regorus::Value::String(go_sprintf(format, &list).into()))
        }),
    );
}

/// Go's `fmt.Sprintf` for the verbs policies use (`%v %s %d %q %f %x %t %%`, with flags,
/// width and precision), over values shown the way OPA shows them.
fn go_sprintf(format: &str, values: &[regorus::Value]) -> String {
    let mut out = String::with_capacity(format.len() + 32);
    let mut chars = format.chars().peekable();
    let mut next_value = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&f) = chars.peek() {
            if "+-# 0123456789.".contains(f) {
                spec.push(f);
                chars.next();
            } else {
                break;
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match values.get(next_value) {
            Some(value) => out.push_str(&pad(&spec, format_verb(verb, &spec, value))),
            None => out.push_str(&format!("%!{verb}(MISSING)")),
        }
        next_value += 1;
    }
    if next_value < values.len() {
        let extra: Vec<String> = values[next_value..].iter().map(|v| shown(v, false)).collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

fn format_verb(verb: char, spec: &str, value: &regorus::Value) -> String {
    use regorus::Value;
    let precision = spec.split_once('.').and_then(|(_, p)| p.parse::<usize>().ok());
    match (verb, value) {
        ('d', Value::Number(n)) => n.as_i64().map_or_else(|| shown(value, false), |i| i.to_string()),
        ('f' | 'F' | 'g' | 'e', Value::Number(n)) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            format!("{f:.*}", precision.unwrap_or(6))
        }
        ('x', Value::Number(n)) => n
            .as_i64()
            .map_or_else(|| shown(value, false), |i| format!("{i:x}")),
        ('x', Value::String(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('q', Value::String(s)) => serde_json::to_string(&**s).unwrap_or_default(),
        ('t', Value::Bool(b)) => b.to_string(),
        ('v' | 's', _) => shown(value, false),
        (other, _) => format!("%!{other}({})", shown(value, false)),
    }
}

/// Applies a width (`%10v`, `%-10v`) to a formatted value.
fn pad(spec: &str, text: String) -> String {
    let left = spec.contains('-');
    let width: usize = spec
        .split('.')
        .next()
        .unwrap_or("")
        .trim_start_matches(['+', '-', '#', ' ', '0'])
        .parse()
        .unwrap_or(0);
    let len = text.chars().count();
    if len >= width {
        return text;
    }
    let fill = " ".repeat(width - len);
    if left {
        text + &fill
    } else {
        fill + &text
    }
}

/// A value as OPA prints it: strings bare at the top level and quoted inside collections,
/// arrays `[a, b]`, sets `{a, b}`, objects `{"k": v}`.
fn shown(value: &regorus::Value, nested: bool) -> String {
    use regorus::Value;
    let join = |items: Vec<String>| items.join(", ");
    match value {
        Value::String(s) if nested => serde_json::to_string(&**s).unwrap_or_default(),
        Value::String(s) => s.to_string(),
        Value::Array(items) => format!("[{}]", join(items.iter().map(|v| shown(v, true)).collect())),
        Value::Set(items) => format!("{{{}}}", join(items.iter().map(|v| shown(v, true)).collect())),
        Value::Object(map) => format!(
            "{{{}}}",
            join(
                map.iter()
                    .map(|(k, v)| format!("{}: {}", shown(k, true), shown(v, true)))
                    .collect()
            )
        ),
        Value::Undefined => "<undefined>".into(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// Whether some `sprintf("...", [...])` call has a literal format whose verb count differs from
/// the number of elements of its literal argument array (OPA prints `%!v(MISSING)` or
/// `%!(EXTRA ...)` there; the bytecode interpreter has no way to follow it). Calls whose format
/// or arguments are not literals are not judged.
pub(crate) fn has_mismatched_sprintf(source: &str) -> bool {
    source.match_indices("sprintf(").any(|(at, call)| {
        let rest = source[at + call.len()..].trim_start();
        let Some(format_end) = rest.starts_with('"').then(|| string_end(rest.as_bytes(), 0)) else {
            return false;
        };
        let Ok(format) = serde_json::from_str::<String>(&rest[..format_end]) else {
            return false;
        };
        let verbs = format.matches('%').count() - 2 * format.matches("%%").count();
        let Some(args) = rest[format_end..].trim_start().strip_prefix(',') else {
            return false;
        };
        match literal_array_len(args.trim_start()) {
            Some(count) => count != verbs,
            None => false,
        }
    })
}

/// The number of top-level elements of the array literal `text` starts with.
fn literal_array_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'[') {
        return None;
    }
    let (mut depth, mut count, mut seen, mut i) = (0usize, 0usize, false, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'`' => {
                seen = true;
                i = string_end(bytes, i);
                continue;
            }
            b'[' | b'(' | b'{' => depth += 1,
            b']' | b')' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(count + usize::from(seen));
                }
            }
            b',' if depth == 1 => {
                count += 1;
                seen = false;
                i += 1;
                continue;
            }
            c if !c.is_ascii_whitespace() && depth >= 1 => seen = true,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod sprintf_tests {
    use super::*;
    use serde_json::json;

    fn values(json: serde_json::Value) -> Vec<regorus::Value> {
        match regorus::Value::from(json) {
            regorus::Value::Array(items) => items.iter().cloned().collect(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn formats_like_go() {
        let args = values(json!(["web", 3, ["a", "b"], {"k": 1}]));
        assert_eq!(
            go_sprintf("%v has %d: %v %v", &args),
            "web has 3: [\"a\", \"b\"] {\"k\": 1}"
        );
        assert_eq!(
            go_sprintf("%q %5s|%-4v| 100%%", &values(json!(["x", "ab", 1]))),
            "\"x\"    ab|1   | 100%"
        );
        assert_eq!(
            go_sprintf("%v and %v", &values(json!(["only"]))),
            "only and %!v(MISSING)"
        );
        assert_eq!(go_sprintf("%v", &values(json!([1, 2]))), "1%!(EXTRA 2)");
        assert_eq!(go_sprintf("%.2f", &values(json!([1.5]))), "1.50");
    }

    #[test]
    fn mismatched_literal_calls_are_found() {
        assert!(has_mismatched_sprintf(
            r#"msg := sprintf("%v %v <%v>", [a, f(b, c)])"#
        ));
        assert!(!has_mismatched_sprintf(
            r#"msg := sprintf("%v %v, 100%%", [a, f(b, [c, d])])"#
        ));
        assert!(!has_mismatched_sprintf(r#"msg := sprintf("%v", ["a,b"])"#));
        assert!(!has_mismatched_sprintf("msg := sprintf(fmt, args)"));
    }

    #[test]
    fn a_missing_argument_no_longer_hides_the_rule() {
        let mut engine = regorus::Engine::new();
        install_go_sprintf(&mut engine);
        engine
            .add_policy(
                "t.rego".into(),
                "package t\nmsg := sprintf(\"%v %v\", [1])\n".into(),
            )
            .unwrap();
        let value = engine.eval_rule("data.t.msg".into()).unwrap();
        assert_eq!(serde_json::to_string(&value).unwrap(), "\"1 %!v(MISSING)\"");
    }
}
