//! The raw shape of a definition file, as serde reads it: every key
//! optional, every value with its span (for "FILE:LINE" in messages). Unknown
//! keys are refused here (`deny_unknown_fields`); everything else is checked
//! in `parse`.

use std::fmt;

use serde::Deserialize;
use toml::Spanned;

/// A value that may be written as a string or an integer.
#[derive(Debug, Clone)]
pub enum Scalar {
    Int(i64),
    Str(String),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Scalar, E> {
                i64::try_from(v)
                    .map(Scalar::Int)
                    .map_err(|_| E::custom("number too large"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Scalar, E> {
                Ok(Scalar::Str(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawDef {
    pub mode: Option<Spanned<String>>,
    pub address: Option<Spanned<String>>,
    pub dhcp: Option<Spanned<bool>>,
    pub dhcp_range: Option<Spanned<String>>,
    pub lease_time: Option<Spanned<Scalar>>,
    pub dns: Option<Spanned<bool>>,
    pub domain: Option<Spanned<String>>,
    pub uplink: Option<Spanned<String>>,
    pub mtu: Option<Spanned<i64>>,
    pub idle_timeout: Option<Spanned<Scalar>>,
    pub allow_default_route_uplink: Option<Spanned<bool>>,
    pub ipv6: Option<Spanned<String>>,
    pub ipv6_nat: Option<Spanned<bool>>,
    #[serde(default)]
    pub host: Vec<Spanned<RawHost>>,
    #[serde(default)]
    pub forward: Vec<Spanned<RawForward>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawHost {
    pub mac: Option<Spanned<String>>,
    pub ip: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawForward {
    pub proto: Option<Spanned<String>>,
    pub port: Option<Spanned<Scalar>>,
    pub to: Option<Spanned<String>>,
    pub host_address: Option<Spanned<String>>,
}
