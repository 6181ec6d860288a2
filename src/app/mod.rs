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

/// Bookings: online, walk-in and phone; reschedule, cancel, status changes, notes.
pub mod bookings;
/// Catálogo: a barber's weekly hours (the week editor's preview and save).
pub mod catalog;
/// Clients at the front desk: search, a client's file, merging two records of one person.
pub mod clients;
/// Where "now" comes from.
pub mod clock;
/// Deposits through MercadoPago: preferences, notifications, hold expiry, refunds.
pub mod deposits;
mod error;

use std::sync::Arc;

pub use clock::Clock;
pub use error::AppError;

use crate::domain::BarberId;
use crate::domain::BookingRules;
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
    /// `server.public_url`, without a trailing slash.
    pub public_url: Arc<str>,
    pub metrics: Arc<Metrics>,
    /// Deposits through MercadoPago; `None` when `payments.enabled` is false.
    pub payments: Option<Arc<deposits::Deposits>>,
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
    Client,
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
            Actor::Client => audit::Change::by(audit::CLIENT, action, entity, id),
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
