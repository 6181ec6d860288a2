//! Every cookie the admin sets is made here: `HttpOnly`, `SameSite=Strict`, `Path=/admin`,
//! and `Secure` whenever clients reach us over HTTPS.

use axum::http::{HeaderMap, HeaderValue, header};

/// The session cookie: a random token; the database knows only its hash.
pub const SESSION: &str = "bp_session";
/// The login form's double-submit CSRF token (there is no session yet to hold one).
pub const LOGIN_CSRF: &str = "bp_login";
/// A one-shot message for the next page (post-redirect-get).
pub const FLASH: &str = "bp_flash";

/// A `Set-Cookie` value. `max_age` in seconds; `None` makes a browser-session cookie, and
/// `Some(0)` deletes the cookie. Values are ours (base64url), never user text.
pub fn set(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/admin; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("bp_invalid=1"))
}

/// A `Set-Cookie` that deletes `name`.
pub fn clear(name: &str, secure: bool) -> HeaderValue {
    set(name, "", Some(0), secure)
}

/// The value of cookie `name` in the request, if present and non-empty.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v)
}

/// Starts a logged-in session on `response`: sets the session cookie and drops the login
/// form's CSRF cookie (login and first-owner setup both end this way).
pub fn start_session(response: &mut axum::response::Response, token: &str, secure: bool) {
    let h = response.headers_mut();
    h.append(
        axum::http::header::SET_COOKIE,
        set(SESSION, token, None, secure),
    );
    h.append(axum::http::header::SET_COOKIE, clear(LOGIN_CSRF, secure));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_locked_down_and_read_back() {
        let c = set(SESSION, "abc", None, true);
        assert_eq!(
            c,
            "bp_session=abc; Path=/admin; HttpOnly; SameSite=Strict; Secure"
        );
        let c = set(FLASH, "x", Some(60), false);
        assert_eq!(
            c,
            "bp_flash=x; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; bp_session=tok; bp_flash="),
        );
        assert_eq!(get(&h, SESSION), Some("tok"));
        assert_eq!(get(&h, FLASH), None, "an empty cookie is no cookie");
        assert_eq!(get(&h, "b"), None);
    }
}
