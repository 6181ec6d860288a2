//! Deposits (señas): the per-branch policy that decides whether a booking needs one and how
//! much, and the life of a deposit payment. Pure: the MercadoPago wire format and the clock
//! live elsewhere.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::catalog::id_type;
use super::{BookingId, BranchId, ClientId, DomainError, Money};

id_type!(
    /// Identifies one of our deposit records (not MercadoPago's payment id).
    PaymentId
);

/// How much deposit a branch asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DepositKind {
    /// No deposit: bookings are confirmed at once.
    None,
    /// A percentage (1–100) of the booking's total.
    Percent { percent: u8 },
    /// A fixed amount (at most the booking's total).
    Fixed { amount: Money },
}

/// A branch's deposit rule: what to ask, and from whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositPolicy {
    kind: DepositKind,
    /// 0: every client pays a deposit; N: only clients with at least N past no-shows.
    after_no_shows: u32,
}

impl Default for DepositPolicy {
    fn default() -> Self {
        Self {
            kind: DepositKind::None,
            after_no_shows: 0,
        }
    }
}

impl DepositPolicy {
    /// Validates: a percentage is 1–100, a fixed amount is above zero.
    pub fn new(kind: DepositKind, after_no_shows: u32) -> Result<Self, DomainError> {
        let ok = match kind {
            DepositKind::None => true,
            DepositKind::Percent { percent } => (1..=100).contains(&percent),
            DepositKind::Fixed { amount } => amount.centavos() > 0,
        };
        if !ok {
            return Err(DomainError::InvalidAmount);
        }
        Ok(Self {
            kind,
            after_no_shows,
        })
    }

    pub fn kind(&self) -> DepositKind {
        self.kind
    }

    /// Whether this policy asks some client for a deposit (not `none`).
    pub fn may_ask(&self) -> bool {
        self.kind != DepositKind::None
    }

    pub fn after_no_shows(&self) -> u32 {
        self.after_no_shows
    }

    /// The deposit a booking of `total` by a client with `no_shows` past no-shows must pay,
    /// or `None` when it needs none. Percentages round to the nearest centavo; a fixed amount
    /// never exceeds the total; a zero amount is no deposit.
    pub fn deposit_for(&self, total: Money, no_shows: u32) -> Option<Money> {
        if no_shows < self.after_no_shows {
            return None;
        }
        let centavos = match self.kind {
            DepositKind::None => return None,
            DepositKind::Percent { percent } => (total.centavos() * i64::from(percent) + 50) / 100,
            DepositKind::Fixed { amount } => amount.centavos().min(total.centavos()),
        };
        Money::from_centavos(centavos)
            .ok()
            .filter(|m| m.centavos() > 0)
    }

    /// What the booking pages tell a client before they book `total` (es-AR), or `None` when
    /// this policy never asks for a deposit. Who has enough no-shows is not known before the
    /// phone is typed, so a policy with a threshold says so.
    pub fn client_notice_es(&self, total: Money) -> Option<String> {
        let pay = "por Mercado Pago; al reservar te damos el enlace para pagarla";
        match self.after_no_shows {
            0 => {
                let amount = self.deposit_for(total, 0)?;
                Some(format!(
                    "Para confirmar el turno se pide una seña de {amount}, {pay}."
                ))
            }
            n => {
                let amount = self.deposit_for(total, n)?;
                let times = if n == 1 {
                    "a un turno".to_owned()
                } else {
                    format!("a {n} turnos o más")
                };
                Some(format!(
                    "Si faltaste {times} sin avisar, para confirmar este se pide una seña de \
                     {amount}, {pay}."
                ))
            }
        }
    }

    /// The policy in Spanish, for the admin pages ("30 % del precio, desde 2 ausencias").
    pub fn describe_es(&self) -> String {
        let what = match self.kind {
            DepositKind::None => return "Sin seña".into(),
            DepositKind::Percent { percent } => format!("{percent} % del precio"),
            DepositKind::Fixed { amount } => format!("{amount} fijos"),
        };
        match self.after_no_shows {
            0 => format!("{what}, a todos los clientes"),
            1 => format!("{what}, a clientes con al menos 1 ausencia"),
            n => format!("{what}, a clientes con al menos {n} ausencias"),
        }
    }
}

/// Where a deposit is in its life.
///
/// ```text
/// awaiting_preference ─> awaiting_payment ─┬─> approved ─┬─> refund_pending ─┬─> refunded
///          │                               │             ├─> kept            └─> refund_failed
///          └──────────────┬────────────────┘             └─> refunded (by MercadoPago)
///                         └─> expired ─> refund_pending (a late approval)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// The booking holds its slot; the Checkout Pro preference is not created yet (retried).
    AwaitingPreference,
    /// The client has a link to pay; waiting for an approved payment.
    AwaitingPayment,
    /// Paid: the booking is confirmed.
    Approved,
    /// The hold ended unpaid: the booking was cancelled (`payment_expired`).
    Expired,
    /// A refund must be (re)sent to MercadoPago.
    RefundPending,
    /// MercadoPago accepted the refund (or the payment was refunded there).
    Refunded,
    /// MercadoPago refused the refund: the front desk must act.
    RefundFailed,
    /// Cancelled after the cut-off, or a no-show: the deposit stays with the shop.
    Kept,
}

impl PaymentState {
    pub const ALL: [PaymentState; 8] = [
        Self::AwaitingPreference,
        Self::AwaitingPayment,
        Self::Approved,
        Self::Expired,
        Self::RefundPending,
        Self::Refunded,
        Self::RefundFailed,
        Self::Kept,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingPreference => "awaiting_preference",
            Self::AwaitingPayment => "awaiting_payment",
            Self::Approved => "approved",
            Self::Expired => "expired",
            Self::RefundPending => "refund_pending",
            Self::Refunded => "refunded",
            Self::RefundFailed => "refund_failed",
            Self::Kept => "kept",
        }
    }

    pub fn label_es(self) -> &'static str {
        match self {
            Self::AwaitingPreference => "preparando el pago",
            Self::AwaitingPayment => "esperando el pago",
            Self::Approved => "pagada",
            Self::Expired => "vencida sin pagar",
            Self::RefundPending => "devolución en curso",
            Self::Refunded => "devuelta",
            Self::RefundFailed => "devolución rechazada",
            Self::Kept => "retenida",
        }
    }

    /// Whether the deposit is still waiting to be paid (its hold can expire).
    pub fn is_unpaid(self) -> bool {
        matches!(self, Self::AwaitingPreference | Self::AwaitingPayment)
    }

    /// The legal transitions; everything else is refused, so a replayed or out-of-order
    /// notification cannot move a deposit twice.
    pub fn can_become(self, to: PaymentState) -> bool {
        use PaymentState::*;
        matches!(
            (self, to),
            (AwaitingPreference, AwaitingPayment)
                | (AwaitingPreference | AwaitingPayment, Approved)
                | (AwaitingPreference | AwaitingPayment, Expired)
                | (Expired, RefundPending)
                | (Approved, RefundPending)
                | (Approved, Kept)
                // A no-show undone by the front desk.
                | (Kept, Approved)
                | (Approved, Refunded)
                | (RefundPending, Refunded)
                | (RefundPending, RefundFailed)
                | (RefundFailed, RefundPending)
        )
    }
}

/// Why a deposit is given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    /// The booking was cancelled before the cut-off.
    Cancelled,
    /// The payment was approved after the hold had expired and the slot was freed.
    LateApproval,
}

impl RefundReason {
    pub fn label_es(self) -> &'static str {
        match self {
            Self::Cancelled => "cancelado antes del límite",
            Self::LateApproval => "pago aprobado después del vencimiento",
        }
    }
}

/// Something that happened to a deposit, kept for the front desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    pub at: Timestamp,
    pub what: String,
}

/// A booking's deposit and everything MercadoPago told us about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub booking: BookingId,
    pub client: ClientId,
    pub branch: BranchId,
    pub amount: Money,
    pub state: PaymentState,
    /// Until when the unpaid booking holds its slot.
    pub hold_until: Timestamp,
    pub preference_id: Option<String>,
    /// The Checkout Pro link the client pays at.
    pub init_point: Option<String>,
    /// MercadoPago's payment id, once one was seen for this booking.
    pub mp_payment_id: Option<u64>,
    /// MercadoPago's last reported status (`approved`, `rejected`, …).
    pub mp_status: Option<String>,
    pub refund_reason: Option<RefundReason>,
    /// X-Idempotency-Key of the refund, fixed when the refund is decided so that every retry
    /// is the same refund to MercadoPago.
    pub refund_key: Option<String>,
    pub refund_id: Option<u64>,
    /// Failed attempts of the current outbound step (preference or refund), for backoff.
    pub attempts: u32,
    pub last_error: Option<String>,
    pub events: Vec<PaymentEvent>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Payment {
    /// Moves the deposit along its state machine, noting why.
    pub fn transition(
        &mut self,
        to: PaymentState,
        now: Timestamp,
        what: impl Into<String>,
    ) -> Result<(), DomainError> {
        if !self.state.can_become(to) {
            return Err(DomainError::InvalidTransition {
                from: self.state.as_str(),
                to: to.as_str(),
            });
        }
        self.state = to;
        self.attempts = 0;
        self.last_error = None;
        self.note(now, what);
        Ok(())
    }

    /// Adds an event to the history without changing the state.
    pub fn note(&mut self, now: Timestamp, what: impl Into<String>) {
        self.updated_at = now;
        self.events.push(PaymentEvent {
            at: now,
            what: what.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pesos(p: i64) -> Money {
        Money::from_pesos(p).unwrap()
    }

    #[test]
    fn clients_are_told_the_deposit_before_they_book() {
        let total = pesos(8000);
        let all = DepositPolicy::new(DepositKind::Percent { percent: 30 }, 0).unwrap();
        let notice = all.client_notice_es(total).expect("a notice");
        assert!(notice.contains("seña de $\u{a0}2.400,00"), "{notice}");
        let after = DepositPolicy::new(
            DepositKind::Fixed {
                amount: pesos(2000),
            },
            2,
        )
        .unwrap();
        let notice = after.client_notice_es(total).expect("a notice");
        assert!(
            notice.starts_with("Si faltaste a 2 turnos o más sin avisar")
                && notice.contains("$\u{a0}2.000,00"),
            "{notice}"
        );
        assert_eq!(DepositPolicy::default().client_notice_es(total), None);
    }

    #[test]
    fn policies_validate_on_construction() {
        assert!(DepositPolicy::new(DepositKind::Percent { percent: 0 }, 0).is_err());
        assert!(DepositPolicy::new(DepositKind::Percent { percent: 101 }, 0).is_err());
        assert!(DepositPolicy::new(DepositKind::Percent { percent: 100 }, 0).is_ok());
        assert!(DepositPolicy::new(DepositKind::Fixed { amount: pesos(0) }, 0).is_err());
        assert!(DepositPolicy::new(DepositKind::Fixed { amount: pesos(1) }, 3).is_ok());
        assert!(DepositPolicy::new(DepositKind::None, 0).is_ok());
    }

    #[test]
    fn deposit_amounts() {
        let pct = DepositPolicy::new(DepositKind::Percent { percent: 30 }, 0).unwrap();
        assert_eq!(pct.deposit_for(pesos(12_000), 0), Some(pesos(3_600)));
        // 33 % of $ 0,01 rounds to zero: no deposit rather than a zero payment.
        let third = DepositPolicy::new(DepositKind::Percent { percent: 33 }, 0).unwrap();
        assert_eq!(third.deposit_for(Money::from_centavos(1).unwrap(), 0), None);
        assert_eq!(
            third.deposit_for(Money::from_centavos(1_000).unwrap(), 0),
            Some(Money::from_centavos(330).unwrap())
        );
        let fixed = DepositPolicy::new(
            DepositKind::Fixed {
                amount: pesos(5_000),
            },
            0,
        )
        .unwrap();
        assert_eq!(fixed.deposit_for(pesos(12_000), 0), Some(pesos(5_000)));
        assert_eq!(fixed.deposit_for(pesos(3_000), 0), Some(pesos(3_000)));
        assert_eq!(DepositPolicy::default().deposit_for(pesos(9_000), 9), None);
    }

    #[test]
    fn only_clients_with_enough_no_shows_pay_when_asked() {
        let p = DepositPolicy::new(DepositKind::Percent { percent: 50 }, 2).unwrap();
        assert_eq!(p.deposit_for(pesos(10_000), 0), None);
        assert_eq!(p.deposit_for(pesos(10_000), 1), None);
        assert_eq!(p.deposit_for(pesos(10_000), 2), Some(pesos(5_000)));
        assert!(p.describe_es().contains("al menos 2 ausencias"));
    }

    #[test]
    fn deposit_states_move_only_forward_but_for_an_undone_no_show() {
        use PaymentState::*;
        let legal = [
            (AwaitingPreference, AwaitingPayment),
            (AwaitingPreference, Approved),
            (AwaitingPayment, Approved),
            (AwaitingPreference, Expired),
            (AwaitingPayment, Expired),
            (Expired, RefundPending),
            (Approved, RefundPending),
            (Approved, Kept),
            // A no-show undone by the front desk.
            (Kept, Approved),
            (Approved, Refunded),
            (RefundPending, Refunded),
            (RefundPending, RefundFailed),
            (RefundFailed, RefundPending),
        ];
        for from in PaymentState::ALL {
            for to in PaymentState::ALL {
                assert_eq!(
                    from.can_become(to),
                    legal.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }
}
