//! The people who run the shops: staff accounts, their roles, and their sessions.
//!
//! Pure data and rules. Hashing passwords and making random tokens is `crate::auth`'s job;
//! storing them is `store::staff`'s.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::catalog::id_type;
use super::{BarberId, Email, Text};

id_type!(
    /// Identifies a staff account.
    StaffId
);

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including staff accounts and settings.
    Owner,
    /// The front desk: bookings and clients, the catalogue read-only.
    Recepcion,
    /// One barber: their own agenda only.
    Barbero,
}

impl Role {
    pub const ALL: [Role; 3] = [Self::Owner, Self::Recepcion, Self::Barbero];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Recepcion => "recepcion",
            Self::Barbero => "barbero",
        }
    }

    pub fn label_es(self) -> &'static str {
        match self {
            Self::Owner => "Dueño/a",
            Self::Recepcion => "Recepción",
            Self::Barbero => "Barbero/a",
        }
    }

    /// Accepts the code, with or without the accent (`recepción`).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_lowercase().as_str() {
            "owner" | "dueño" | "dueno" => Some(Self::Owner),
            "recepcion" | "recepción" => Some(Self::Recepcion),
            "barbero" | "barber" => Some(Self::Barbero),
            _ => None,
        }
    }

    /// Creating bookings, cancelling them, seeing every barber's agenda and the clients.
    pub fn runs_front_desk(self) -> bool {
        matches!(self, Self::Owner | Self::Recepcion)
    }

    /// Staff accounts, the audit log and settings.
    pub fn is_owner(self) -> bool {
        self == Self::Owner
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A staff account. E-mail addresses are kept lowercase and are unique.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffUser {
    pub id: StaffId,
    pub email: Email,
    pub name: Text,
    pub role: Role,
    /// The barber this account is (required for, and only for, [`Role::Barbero`]).
    #[serde(default)]
    pub barber: Option<BarberId>,
    pub active: bool,
    /// argon2id PHC string (`$argon2id$v=19$…`).
    pub password_hash: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for StaffUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffUser")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("barber", &self.barber)
            .field("active", &self.active)
            .field("password_hash", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A logged-in browser. The database keys it by SHA-256 of the cookie's token, so a copy of
/// the database cannot be used to log in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user: StaffId,
    /// The CSRF token every state-changing form of this session must carry.
    pub csrf: String,
    pub created_at: Timestamp,
    pub last_seen: Timestamp,
    /// The client address at login, for the team page and the audit log.
    #[serde(default)]
    pub ip: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("created_at", &self.created_at)
            .field("last_seen", &self.last_seen)
            .finish_non_exhaustive()
    }
}

/// How long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Idle timeout: a session not used for this long is over.
    pub idle: SignedDuration,
    /// Absolute lifetime: a session this old is over, however busy.
    pub absolute: SignedDuration,
}

impl Session {
    /// Whether the session is over at `now`.
    pub fn expired(&self, now: Timestamp, limits: &SessionLimits) -> bool {
        now.duration_since(self.last_seen) >= limits.idle
            || now.duration_since(self.created_at) >= limits.absolute
    }
}

/// A password as typed: 10 to 128 characters. Kept out of `Debug`.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, super::DomainError> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(super::DomainError::InvalidField {
                field: "password",
                reason: "too short",
            });
        }
        if n > Self::MAX_CHARS {
            return Err(super::DomainError::InvalidField {
                field: "password",
                reason: "too long",
            });
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

/// A staff e-mail: a valid address, lowercased so that logins ignore case.
pub fn staff_email(raw: &str) -> Result<Email, super::DomainError> {
    Email::parse(&raw.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    #[test]
    fn sessions_end_when_idle_or_too_old() {
        let limits = SessionLimits {
            idle: SignedDuration::from_mins(30),
            absolute: SignedDuration::from_hours(12),
        };
        let s = Session {
            user: StaffId(1),
            csrf: "x".into(),
            created_at: at("2027-03-01T10:00:00Z"),
            last_seen: at("2027-03-01T10:00:00Z"),
            ip: None,
        };
        assert!(
            !s.expired(at("2027-03-01T10:29:59Z"), &limits),
            "29 idle minutes"
        );
        assert!(
            s.expired(at("2027-03-01T10:30:00Z"), &limits),
            "30 idle minutes"
        );
        let busy = Session {
            last_seen: at("2027-03-01T21:59:00Z"),
            ..s
        };
        assert!(!busy.expired(at("2027-03-01T21:59:59Z"), &limits));
        assert!(
            busy.expired(at("2027-03-01T22:00:00Z"), &limits),
            "12 hours old"
        );
    }

    #[test]
    fn roles_parse_with_or_without_accents() {
        assert_eq!(Role::parse("recepción"), Some(Role::Recepcion));
        assert_eq!(Role::parse("OWNER"), Some(Role::Owner));
        assert_eq!(Role::parse("barbero"), Some(Role::Barbero));
        assert_eq!(Role::parse("admin"), None);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn passwords_have_a_length_range_and_hide_in_debug() {
        assert!(NewPassword::parse("corta").is_err());
        assert!(NewPassword::parse(&"x".repeat(129)).is_err());
        let p = NewPassword::parse("una clave larga").expect("valid");
        assert!(!format!("{p:?}").contains("larga"));
        assert_eq!(
            staff_email(" Ana@Example.COM ").expect("valid").as_str(),
            "ana@example.com"
        );
    }
}
