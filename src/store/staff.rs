//! Staff accounts, their server-side sessions, and one-time setup links.
//!
//! Sessions and setup links are keyed by SHA-256 of their token: the token lives only in the
//! browser's cookie (or the link), so a copy of the database cannot be used to log in.

use crate::store::engine::WriteTransaction;
use jiff::Timestamp;
use redb::ReadableTable;

use super::{ReadTx, StoreError, catalog, codec, next_id, tables};
use crate::domain::staff::{Role, Session, SessionLimits, StaffId, StaffUser};
use crate::domain::{BarberId, DomainError, Email, Text};

/// A new account, validated; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub email: Email,
    pub name: Text,
    pub role: Role,
    pub barber: Option<BarberId>,
    pub password_hash: String,
}

pub fn get(tx: &impl ReadTx, id: StaffId) -> Result<Option<StaffUser>, StoreError> {
    codec::get(&tx.table(tables::STAFF)?, tables::STAFF, id.0)
}

/// The account with this (lowercase) e-mail.
pub fn by_email(tx: &impl ReadTx, email: &str) -> Result<Option<StaffUser>, StoreError> {
    let id = tx
        .table(tables::STAFF_EMAILS)?
        .get(email)?
        .map(|v| v.value());
    match id {
        Some(id) => get(tx, StaffId(id)),
        None => Ok(None),
    }
}

/// Every account, by id.
pub fn all(tx: &impl ReadTx) -> Result<Vec<StaffUser>, StoreError> {
    codec::all(&tx.table(tables::STAFF)?, tables::STAFF)
}

/// Whether an active owner exists (else `serve` offers a setup link).
pub fn has_active_owner(tx: &impl ReadTx) -> Result<bool, StoreError> {
    Ok(all(tx)?.iter().any(|u| u.active && u.role == Role::Owner))
}

/// Creates an account. E-mails are unique; a barbero account names an existing barber, and
/// only a barbero account does.
pub fn create(
    txn: &WriteTransaction,
    new: NewStaff,
    now: Timestamp,
) -> Result<StaffUser, StoreError> {
    if txn
        .open_table(tables::STAFF_EMAILS)?
        .get(new.email.as_str())?
        .is_some()
    {
        return Err(DomainError::InvalidField {
            field: "email",
            reason: "taken",
        }
        .into());
    }
    match (new.role, new.barber) {
        (Role::Barbero, Some(barber)) => {
            catalog::barber(txn, barber)?.ok_or(DomainError::UnknownBarber(barber.0))?;
        }
        (Role::Barbero, None) | (_, Some(_)) => {
            return Err(DomainError::InvalidField {
                field: "barber",
                reason: "required for barbero only",
            }
            .into());
        }
        _ => {}
    }
    let user = StaffUser {
        id: StaffId(next_id(txn, "staff")?),
        email: new.email,
        name: new.name,
        role: new.role,
        barber: new.barber,
        active: true,
        password_hash: new.password_hash,
        created_at: now,
        updated_at: now,
    };
    codec::put(&mut txn.open_table(tables::STAFF)?, user.id.0, &user)?;
    txn.open_table(tables::STAFF_EMAILS)?
        .insert(user.email.as_str(), user.id.0)?;
    if user.role == Role::Owner {
        // The first owner exists: any outstanding setup link is void.
        txn.open_table(tables::SETUP_TOKENS)?.retain(|_, _| false)?;
    }
    Ok(user)
}

/// Activates or deactivates an account; deactivating also ends its sessions. The last active
/// owner cannot be deactivated. Returns (before, after).
pub fn set_active(
    txn: &WriteTransaction,
    id: StaffId,
    active: bool,
    now: Timestamp,
) -> Result<(StaffUser, StaffUser), StoreError> {
    let before = get(txn, id)?.ok_or(DomainError::InvalidField {
        field: "staff",
        reason: "unknown",
    })?;
    if !active && last_active_owner(txn, &before)? {
        return Err(DomainError::InvalidField {
            field: "staff",
            reason: "last owner",
        }
        .into());
    }
    let after = StaffUser {
        active,
        updated_at: now,
        ..before.clone()
    };
    codec::put(&mut txn.open_table(tables::STAFF)?, id.0, &after)?;
    if !active {
        end_sessions_of(txn, id)?;
    }
    Ok((before, after))
}

fn last_active_owner(txn: &WriteTransaction, user: &StaffUser) -> Result<bool, StoreError> {
    if !(user.active && user.role == Role::Owner) {
        return Ok(false);
    }
    let owners = all(txn)?
        .iter()
        .filter(|u| u.active && u.role == Role::Owner)
        .count();
    Ok(owners <= 1)
}

/// Changes an account's role (and, for a barbero, the barber it is). The last active owner
/// keeps the owner role. Sessions stay: every request reads the role afresh. Returns
/// (before, after).
pub fn set_role(
    txn: &WriteTransaction,
    id: StaffId,
    role: Role,
    barber: Option<crate::domain::BarberId>,
    now: Timestamp,
) -> Result<(StaffUser, StaffUser), StoreError> {
    let before = get(txn, id)?.ok_or(DomainError::InvalidField {
        field: "staff",
        reason: "unknown",
    })?;
    if role != Role::Owner && last_active_owner(txn, &before)? {
        return Err(DomainError::InvalidField {
            field: "staff",
            reason: "last owner",
        }
        .into());
    }
    let barber = match role {
        Role::Barbero => Some(barber.ok_or(DomainError::InvalidField {
            field: "barber",
            reason: "required for a barbero",
        })?),
        _ => None,
    };
    let after = StaffUser {
        role,
        barber,
        updated_at: now,
        ..before.clone()
    };
    codec::put(&mut txn.open_table(tables::STAFF)?, id.0, &after)?;
    Ok((before, after))
}

/// Replaces an account's password hash and ends its sessions, except `keep` (the session
/// that changed its own password). Returns how many sessions ended.
pub fn set_password(
    txn: &WriteTransaction,
    id: StaffId,
    password_hash: String,
    keep: Option<&str>,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let before = get(txn, id)?.ok_or(DomainError::InvalidField {
        field: "staff",
        reason: "unknown",
    })?;
    let after = StaffUser {
        password_hash,
        updated_at: now,
        ..before
    };
    codec::put(&mut txn.open_table(tables::STAFF)?, id.0, &after)?;
    end_sessions_except(txn, id, keep)
}

/// Stores a new session under the hash of its token.
pub fn create_session(
    txn: &WriteTransaction,
    token_hash: &str,
    session: &Session,
) -> Result<(), StoreError> {
    let bytes = encode(session)?;
    txn.open_table(tables::SESSIONS)?
        .insert(token_hash, bytes.as_slice())?;
    txn.open_table(tables::STAFF_SESSIONS)?
        .insert((session.user.0, token_hash), ())?;
    Ok(())
}

/// The live session and its active account for a token hash; an expired session, or one of
/// a deactivated account, is `None` (and left for [`end_session`] or the next login to sweep).
pub fn session(
    tx: &impl ReadTx,
    token_hash: &str,
    now: Timestamp,
    limits: &SessionLimits,
) -> Result<Option<(Session, StaffUser)>, StoreError> {
    let Some(bytes) = tx
        .table(tables::SESSIONS)?
        .get(token_hash)?
        .map(|v| v.value().to_vec())
    else {
        return Ok(None);
    };
    let session: Session = decode(&bytes)?;
    if session.expired(now, limits) {
        return Ok(None);
    }
    match get(tx, session.user)? {
        Some(user) if user.active => Ok(Some((session, user))),
        _ => Ok(None),
    }
}

/// Records activity on a session (idle timeout restarts).
pub fn touch_session(
    txn: &WriteTransaction,
    token_hash: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut table = txn.open_table(tables::SESSIONS)?;
    let found = table.get(token_hash)?.map(|v| v.value().to_vec());
    if let Some(bytes) = found {
        let mut session: Session = decode(&bytes)?;
        session.last_seen = now;
        table.insert(token_hash, encode(&session)?.as_slice())?;
    }
    Ok(())
}

/// Ends one session (logout).
pub fn end_session(txn: &WriteTransaction, token_hash: &str) -> Result<(), StoreError> {
    let removed = txn
        .open_table(tables::SESSIONS)?
        .remove(token_hash)?
        .map(|v| v.value().to_vec());
    if let Some(bytes) = removed {
        let session: Session = decode(&bytes)?;
        txn.open_table(tables::STAFF_SESSIONS)?
            .remove((session.user.0, token_hash))?;
    }
    Ok(())
}

/// Ends every session of an account ("log out everywhere"); returns how many there were.
pub fn end_sessions_of(txn: &WriteTransaction, user: StaffId) -> Result<usize, StoreError> {
    end_sessions_except(txn, user, None)
}

/// Ends every session of an account but `keep` (a session's token hash); returns how many.
fn end_sessions_except(
    txn: &WriteTransaction,
    user: StaffId,
    keep: Option<&str>,
) -> Result<usize, StoreError> {
    let mut hashes = Vec::new();
    {
        let index = txn.open_table(tables::STAFF_SESSIONS)?;
        for row in index.range((user.0, "")..(user.0 + 1, ""))? {
            let (k, _) = row?;
            let hash = k.value().1;
            if Some(hash) != keep {
                hashes.push(hash.to_owned());
            }
        }
    }
    let mut sessions = txn.open_table(tables::SESSIONS)?;
    let mut index = txn.open_table(tables::STAFF_SESSIONS)?;
    for hash in &hashes {
        sessions.remove(hash.as_str())?;
        index.remove((user.0, hash.as_str()))?;
    }
    Ok(hashes.len())
}

/// Deletes the expired sessions of an account (called at login, so the table stays small).
pub fn sweep_sessions_of(
    txn: &WriteTransaction,
    user: StaffId,
    now: Timestamp,
    limits: &SessionLimits,
) -> Result<(), StoreError> {
    let mut expired = Vec::new();
    {
        let index = txn.open_table(tables::STAFF_SESSIONS)?;
        let sessions = txn.open_table(tables::SESSIONS)?;
        for row in index.range((user.0, "")..(user.0 + 1, ""))? {
            let (k, _) = row?;
            let hash = k.value().1.to_owned();
            let gone = match sessions.get(hash.as_str())? {
                Some(v) => decode::<Session>(v.value())?.expired(now, limits),
                None => true,
            };
            if gone {
                expired.push(hash);
            }
        }
    }
    let mut sessions = txn.open_table(tables::SESSIONS)?;
    let mut index = txn.open_table(tables::STAFF_SESSIONS)?;
    for hash in &expired {
        sessions.remove(hash.as_str())?;
        index.remove((user.0, hash.as_str()))?;
    }
    Ok(())
}

/// Every session expired at `now`, as (account, token hash): what
/// [`sweep_expired_sessions`] deletes. The retention job looks in a read transaction first,
/// so that a day with nothing to sweep costs the writer nothing.
pub fn expired_sessions(
    tx: &impl ReadTx,
    now: Timestamp,
    limits: &SessionLimits,
) -> Result<Vec<(StaffId, String)>, StoreError> {
    let sessions = tx.table(tables::SESSIONS)?;
    let mut expired = Vec::new();
    for row in sessions.iter()? {
        let (k, v) = row?;
        let session = decode::<Session>(v.value())?;
        if session.expired(now, limits) {
            expired.push((session.user, k.value().to_owned()));
        }
    }
    Ok(expired)
}

/// Deletes every expired session of every account (the daily retention job; logins only
/// sweep their own account's). Returns how many went.
pub fn sweep_expired_sessions(
    txn: &WriteTransaction,
    now: Timestamp,
    limits: &SessionLimits,
) -> Result<usize, StoreError> {
    let expired = expired_sessions(txn, now, limits)?;
    let mut sessions = txn.open_table(tables::SESSIONS)?;
    let mut index = txn.open_table(tables::STAFF_SESSIONS)?;
    for (user, hash) in &expired {
        sessions.remove(hash.as_str())?;
        index.remove((user.0, hash.as_str()))?;
    }
    Ok(expired.len())
}

/// How many live sessions an account has (for the team page).
pub fn session_count(tx: &impl ReadTx, user: StaffId) -> Result<usize, StoreError> {
    let index = tx.table(tables::STAFF_SESSIONS)?;
    let mut n = 0;
    for row in index.range((user.0, "")..(user.0 + 1, ""))? {
        row?;
        n += 1;
    }
    Ok(n)
}

/// Records a one-time setup link (by the hash of its token) valid until `expires`; earlier
/// links die (only the one logged last works).
pub fn create_setup_token(
    txn: &WriteTransaction,
    token_hash: &str,
    expires: Timestamp,
) -> Result<(), StoreError> {
    let mut table = txn.open_table(tables::SETUP_TOKENS)?;
    table.retain(|_, _| false)?;
    table.insert(token_hash, expires.as_second())?;
    Ok(())
}

/// Uses up a setup link: `Ok(true)` if it was valid (it is deleted either way).
pub fn take_setup_token(
    txn: &WriteTransaction,
    token_hash: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let valid = setup_token_valid(txn, token_hash, now)?;
    txn.open_table(tables::SETUP_TOKENS)?.remove(token_hash)?;
    Ok(valid)
}

/// Whether a setup link is still good (exists, not expired, and no owner yet).
pub fn setup_token_valid(
    tx: &impl ReadTx,
    token_hash: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let expires = tx
        .table(tables::SETUP_TOKENS)?
        .get(token_hash)?
        .map(|v| v.value());
    Ok(expires.is_some_and(|e| now.as_second() < e) && !has_active_owner(tx)?)
}

fn encode(session: &Session) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(session).map_err(|source| StoreError::Corrupt {
        table: "(encoding)".into(),
        source,
    })
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        table: "staff_sessions".into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;
    use crate::store::Store;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    fn owner(email: &str) -> NewStaff {
        NewStaff {
            email: Email::parse(email).expect("valid"),
            name: Text::line("name", "Ana", 80).expect("valid"),
            role: Role::Owner,
            barber: None,
            password_hash: "$argon2id$fake".into(),
        }
    }

    #[tokio::test]
    async fn emails_are_unique_and_the_first_owner_voids_setup_links() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), 1 << 20).expect("store");
        let now = at("2027-03-01T10:00:00Z");
        store
            .write(move |txn| create_setup_token(txn, "h", now + SignedDuration::from_hours(24)))
            .await
            .expect("setup token");
        assert!(
            store
                .read(move |tx| setup_token_valid(tx, "h", now))
                .await
                .expect("read")
        );
        store
            .write(move |txn| create(txn, owner("ana@x.com"), now))
            .await
            .expect("first");
        let again = store
            .write(move |txn| create(txn, owner("ana@x.com"), now))
            .await;
        assert!(
            matches!(again, Err(StoreError::Rule(_))),
            "duplicate e-mail accepted"
        );
        assert!(
            !store
                .read(move |tx| setup_token_valid(tx, "h", now))
                .await
                .expect("read"),
            "the setup link outlived the first owner"
        );
    }

    #[tokio::test]
    async fn logging_out_everywhere_ends_every_session_of_that_account_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), 1 << 20).expect("store");
        let now = at("2027-03-01T10:00:00Z");
        let limits = SessionLimits {
            idle: SignedDuration::from_mins(30),
            absolute: SignedDuration::from_hours(12),
        };
        let (a, b) = store
            .write(move |txn| {
                let a = create(txn, owner("a@x.com"), now)?;
                let b = create(txn, owner("b@x.com"), now)?;
                for (user, hash) in [(a.id, "a1"), (a.id, "a2"), (b.id, "b1")] {
                    let s = Session {
                        user,
                        csrf: "c".into(),
                        created_at: now,
                        last_seen: now,
                        ip: None,
                    };
                    create_session(txn, hash, &s)?;
                }
                Ok((a.id, b.id))
            })
            .await
            .expect("sessions");
        let ended = store
            .write(move |txn| end_sessions_of(txn, a))
            .await
            .expect("end");
        assert_eq!(ended, 2);
        let (a1, b1) = store
            .read(move |tx| {
                Ok((
                    session(tx, "a1", now, &limits)?,
                    session(tx, "b1", now, &limits)?,
                ))
            })
            .await
            .expect("read");
        assert!(a1.is_none(), "a session survived 'log out everywhere'");
        assert_eq!(
            b1.map(|(s, _)| s.user),
            Some(b),
            "another account's session ended"
        );
    }
}
