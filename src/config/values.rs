//! Value types shared by several sections: checked strings ([`HttpUrl`]), [`Secret`], and the
//! serde helpers for keys whose `""` means "not set" (read as `None`, written back as `""`).
//!
//! A value that does not parse is refused while the file is read, and the loader names its
//! key (`invalid value for `payments.api_base_url`: …`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a string newtype checked when it is made (`FromStr`, serde's `try_from`): after
/// that the type is the proof. It reads as a `&str` (`Deref`, `Display`) and serializes as
/// the string it was given.
macro_rules! checked_string {
    ($(#[$attr:meta])* $vis:vis struct $name:ident; fn check($s:ident) $body:block) => {
        $(#[$attr])*
        #[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        $vis struct $name(String);

        impl $name {
            /// Why `s` is not one, if it is not.
            fn check($s: &str) -> Result<(), String> $body

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                Self::check(s)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(s: String) -> Result<Self, String> {
                Self::check(&s)?;
                Ok(Self(s))
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}
pub(crate) use checked_string;

checked_string! {
    /// An `http://` or `https://` URL (an API's base, an endpoint, the public address).
    pub struct HttpUrl;
    fn check(s) {
        if s.starts_with("https://") || s.starts_with("http://") {
            Ok(())
        } else {
            Err("must start with https:// or http://".into())
        }
    }
}

impl HttpUrl {
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

/// A secret (key, password): `Debug` and serialization print `[redacted]`, so it never
/// reaches a log or `barberpro config check`. Read it with [`Secret::expose`]. A key that
/// holds one is an `Option<Secret>` (`""` in the file: not set).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "[redacted]"
        })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "[redacted]" })
    }
}

/// A string, or a number given where a string was meant (figment reads `BARBERPRO_…=123`
/// as a number).
pub(crate) fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        U(u64),
        I(i64),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::S(s) => s,
        Raw::U(n) => n.to_string(),
        Raw::I(n) => n.to_string(),
    })
}

/// `#[serde(with = "optional")]`: a key whose empty string means "not set". `""` reads as
/// `None`, anything else as the value (checked by its type); `None` is written as `""`, so
/// `config check` still shows the key.
pub(crate) mod optional {
    use serde::de::IntoDeserializer;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => v.serialize(s),
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        from_text(String::deserialize(d)?)
    }

    /// As [`deserialize`], also taking a number for the string (ids and tokens given in an
    /// environment variable).
    pub fn deserialize_number_too<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        from_text(super::text_or_number(d)?)
    }

    fn from_text<'de, T: Deserialize<'de>, E: serde::de::Error>(s: String) -> Result<Option<T>, E> {
        if s.is_empty() {
            return Ok(None);
        }
        T::deserialize(s.into_deserializer()).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_their_scheme() {
        for ok in ["https://api.example", "http://127.0.0.1:9000"] {
            let url: HttpUrl = ok.parse().expect(ok);
            assert_eq!(url, ok);
            assert_eq!(url.is_https(), ok.starts_with("https"));
        }
        for bad in ["", "api.example", "ftp://a", " https://a"] {
            assert!(bad.parse::<HttpUrl>().is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn empty_means_not_set_and_is_written_back_empty() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct T {
            #[serde(with = "optional")]
            url: Option<HttpUrl>,
            #[serde(default, with = "optional")]
            secret: Option<Secret>,
        }
        let t: T = toml::from_str("url = \"\"\nsecret = \"s3cr3t\"").expect("valid");
        assert_eq!(t.url, None);
        assert_eq!(t.secret, Some(Secret::new("s3cr3t")));
        let text = toml::to_string(&t).expect("serializes");
        assert_eq!(text, "url = \"\"\nsecret = \"[redacted]\"\n");
        let err = toml::from_str::<T>("url = \"nope\"").expect_err("checked");
        assert!(err.to_string().contains("https://"), "{err}");
    }
}
