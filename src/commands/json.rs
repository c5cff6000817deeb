//! A small JSON writer for `status --json`: a value tree (`Value`) built
//! field by field, rendered compactly (no spaces) in the order the fields
//! were given. Strings escape `"`, `\` and control characters (as \u00XX);
//! everything else, UTF-8 included, is written as is. No crate for this:
//! serde_json is not a dependency, and this is all the program needs.

use std::fmt::Write as _;

/// A JSON value. Objects keep their fields in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(u64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(&'static str, Value)>),
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Number(v.into())
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

/// None is null.
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> FromIterator<T> for Value {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        Value::Array(items.into_iter().map(Into::into).collect())
    }
}

impl Value {
    /// The compact JSON text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Value::String(s) => write_string(out, s),
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Value::Object(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars() {
        assert_eq!(Value::Null.render(), "null");
        assert_eq!(Value::from(true).render(), "true");
        assert_eq!(Value::from(false).render(), "false");
        assert_eq!(Value::from(4242u32).render(), "4242");
        assert_eq!(Value::from(None::<u32>).render(), "null");
        assert_eq!(Value::from(Some("x")).render(), "\"x\"");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(Value::from("a\"b\\c").render(), r#""a\"b\\c""#);
        assert_eq!(
            Value::from("\t\n\x1b\0").render(),
            r#""\u0009\u000a\u001b\u0000""#
        );
        // everything else as is: DEL, UTF-8, U+2028
        assert_eq!(Value::from("\x7fé\u{2028}").render(), "\"\x7fé\u{2028}\"");
    }

    #[test]
    fn arrays_and_objects_keep_order() {
        let v = Value::Object(vec![
            ("b", 1u32.into()),
            ("a", [true, false].into_iter().collect()),
            ("e", Vec::<Value>::new().into_iter().collect()),
            ("o", Value::Object(Vec::new())),
        ]);
        assert_eq!(v.render(), r#"{"b":1,"a":[true,false],"e":[],"o":{}}"#);
    }
}
