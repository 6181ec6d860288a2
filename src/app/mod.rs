//! The use cases: one function per thing a person (or a job) does — book, reschedule, cancel,
//! check in, complete, mark a no-show, change the catalogue or the staff.
//!
//! Each takes the [`Actor`], runs its checks and writes in one write transaction through
//! [`crate::store`], writes its audit entry in that same transaction, and owns what follows
//! the commit (a deposit's next step, counters, waking a worker). Every audience — the JSON
//! API, the booking pages, the admin, the jobs and the CLI — calls these, so one situation
//! has one outcome (one [`AppError`]) whichever door it came through.
//!
//! `app` depends on `store`, `domain`, `integrations` and `metrics`; never on `http`.

/// The bookings in the way of a catalogue change, as its refusal names them.
pub mod booked;
/// Bookings: online, walk-in and phone; reschedule, cancel, status changes, notes.
pub mod bookings;
/// The catalogue's branches: add one, change its details or close it.
pub mod branches;
/// Catálogo: a barber's weekly hours (the week editor's preview and save).
pub mod catalog;
/// La caja: charge a booking or a walk-in, void a sale.
pub mod checkout;
/// Clients at the front desk: search, a client's file, merging two records of one person.
pub mod clients;
/// Where "now" comes from.
pub mod clock;
/// Closures and time off, for a branch or one barber: add, remove.
pub mod closures;
/// La caja: commission rules, barbers' statements, closing pay periods.
pub mod commissions;
/// Deposits through MercadoPago: preferences, notifications, hold expiry, refunds.
pub mod deposits;
mod error;
/// WhatsApp messages: retry a dead letter, a client's opt-in or opt-out.
pub mod messages;
/// The owner's snapshot and restore drill from the Sistema page, audited.
pub mod operations;
/// The front desk's deposit actions: send a refused refund again.
pub mod payments;
/// Catálogo's photos of branches and barbers: checked, scaled down, stored.
pub mod photos;
/// Personal data (Ley 25.326): a client's export, correction and erasure; the audit log's export.
pub mod privacy;
/// La caja: products and their stock.
pub mod products;
/// La caja: the owner's reports.
pub mod reports;
/// The catalogue's services: add one, change it or take it off.
pub mod services;
/// Staff sessions: log in and out, the first owner's setup link, end every session of an account.
pub mod sessions;
/// Staff accounts: create, role, active or not, passwords.
pub mod staff;
/// La caja diaria: open, cash out, advances, close.
pub mod till;
/// Reads of personal data the audit log keeps.
pub mod views;

use std::sync::Arc;

pub use clock::Clock;
pub use error::AppError;

use crate::domain::BarberId;
use crate::domain::BookingRules;
use crate::domain::public_id::PublicIds;
use crate::domain::staff::{Role, StaffId, StaffUser};
use crate::domain::token::TokenKey;
use crate::metrics::Metrics;
use crate::store::{Store, audit};

/// What the use cases need: the store, the clock, the rules and the after-commit hooks.
/// Cloning it is a few reference counts.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub clock: Clock,
    pub rules: BookingRules,
    pub tokens: TokenKey,
    /// Public booking ids (keyed from `secret.key`) and the numeric ids' migration window.
    pub ids: PublicIds,
    /// `server.public_url`, without a trailing slash.
    pub public_url: Arc<str>,
    pub metrics: Arc<Metrics>,
    /// Deposits through MercadoPago; `None` when `payments.enabled` is false.
    pub payments: Option<Arc<deposits::Deposits>>,
}

impl App {
    /// The context of a `barberpro` command that opened the database itself (no server holds
    /// it): the system clock, the configured booking rules, no deposits, and counters nobody
    /// reads.
    pub fn for_command(store: Store, rules: BookingRules) -> Self {
        Self {
            tokens: store.token_key().clone(),
            ids: public_ids(store.token_key(), None),
            store,
            clock: Clock::system(),
            rules,
            public_url: Arc::from(""),
            metrics: Arc::new(Metrics::new()),
            payments: None,
        }
    }
}

/// The public ids of bookings, keyed from the server's secret; numbers in clients' URLs are
/// read until `numeric_until`.
pub fn public_ids(key: &TokenKey, numeric_until: Option<jiff::Timestamp>) -> PublicIds {
    PublicIds::new(key.derive("public-booking-id/v1"), numeric_until)
}

/// A staff member acting from the admin: who, with which role, from where.
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: StaffId,
    pub email: String,
    pub role: Role,
    /// The barber this account is (a barbero changes only their own bookings).
    pub barber: Option<BarberId>,
    /// The client address, as the rate limiter resolved it (for the audit log).
    pub ip: Option<String>,
}

impl Staff {
    pub fn new(user: &StaffUser, ip: Option<String>) -> Self {
        Self {
            id: user.id,
            email: user.email.as_str().to_owned(),
            role: user.role,
            barber: user.barber,
            ip,
        }
    }
}

/// Who asks for a change. The audit log names them; some rules depend on them (a client is
/// bound by the cancellation cut-off, a barbero changes only their own bookings).
#[derive(Debug, Clone)]
pub enum Actor {
    /// A client, holding the booking's manage token (API or booking pages).
    Client(ManageToken),
    /// A staff account from the admin.
    Staff(Staff),
    /// A background job.
    System,
    /// A `barberpro` command on the server.
    Cli,
}

impl Actor {
    /// The audit entry of `action` on `entity` by this actor (before/after left empty).
    pub fn change(
        &self,
        action: &'static str,
        entity: &'static str,
        id: Option<u64>,
    ) -> audit::Change {
        match self {
            Actor::Client(_) => audit::Change::by(audit::CLIENT, action, entity, id),
            Actor::System => audit::Change::by(audit::SYSTEM, action, entity, id),
            Actor::Cli => audit::Change::by(audit::CLI, action, entity, id),
            Actor::Staff(s) => audit::Change {
                actor: Some(s.id),
                actor_email: s.email.clone(),
                ip: s.ip.clone(),
                action,
                entity,
                entity_id: id,
                ..audit::Change::default()
            },
        }
    }

    /// The staff member, when the actor is one.
    pub fn staff(&self) -> Option<&Staff> {
        match self {
            Actor::Staff(s) => Some(s),
            _ => None,
        }
    }
}

/// A manage token as a client presented it (never printed).
#[derive(Clone)]
pub struct ManageToken(String);

impl ManageToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ManageToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ManageToken([redacted])")
    }
}
