//! Every way a request can break a rule of la caja: a stable code and a Spanish message.

use thiserror::Error;

/// A broken rule of la caja (checkouts, till, products, commissions).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CajaError {
    /// An amount that is not a number of pesos (`abc`, `1,2,3`).
    #[error("unreadable amount")]
    Unreadable,
    /// A negative amount.
    #[error("negative amount")]
    Negative,
    /// More than two decimals: centavos are the smallest unit.
    #[error("more than two decimals")]
    TooManyDecimals,
    /// Over ten million pesos.
    #[error("amount too large")]
    TooLarge,
    /// A checkout with no service and no product.
    #[error("nothing to charge")]
    NothingCharged,
    /// A product line with no units, or absurdly many.
    #[error("invalid quantity")]
    InvalidQuantity,
    /// A discount above what the lines add up to.
    #[error("discount over the total")]
    DiscountOverTotal,
    /// A discount needs its reason.
    #[error("discount without a reason")]
    DiscountWithoutReason,
    /// A payment of zero.
    #[error("zero payment")]
    ZeroPayment,
    /// The payments do not add up to what is due (centavos paid, centavos due).
    #[error("payments {paid} do not add up to {due}")]
    PaymentsDontAddUp { paid: i64, due: i64 },
    /// The booking already has a confirmed (not voided) checkout.
    #[error("booking already charged")]
    AlreadyCharged,
    /// A cancelled or no-show booking is not charged.
    #[error("booking not chargeable")]
    NotChargeable,
    /// No ledger entry with that id.
    #[error("unknown ledger entry")]
    UnknownEntry,
    /// Only a sale can be voided.
    #[error("entry not voidable")]
    NotVoidable,
    /// The sale was voided already.
    #[error("already voided")]
    AlreadyVoided,
    /// The till of that day is already open.
    #[error("till already open")]
    TillAlreadyOpen,
    /// The till of that day is closed: it takes nothing more.
    #[error("till closed")]
    TillClosed,
    /// The till of that day was never opened.
    #[error("till not open")]
    TillNotOpen,
    /// No product with that id.
    #[error("unknown product")]
    UnknownProduct,
    /// Selling or adjusting more units than the branch holds.
    #[error("not enough stock of {0}")]
    OutOfStock(String),
    /// A percentage outside 0–100 or with more than two decimals.
    #[error("invalid percentage")]
    InvalidPercent,
    /// A pay period that ends before it starts, or longer than a year.
    #[error("invalid period")]
    InvalidPeriod,
    /// The pay period (or one overlapping it) is already closed.
    #[error("period already closed")]
    PeriodClosed,
    /// A MercadoPago link asked for where MercadoPago is not configured.
    #[error("MercadoPago not configured")]
    MercadoPagoOff,
    /// A MercadoPago link asked for a sale with no MercadoPago line.
    #[error("no MercadoPago line")]
    NoMercadoPagoLine,
    /// MercadoPago did not create the link (down, or refused): the desk tries again.
    #[error("MercadoPago unavailable")]
    MercadoPagoUnavailable,
}

impl CajaError {
    /// The stable, English, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreadable => "amount_unreadable",
            Self::Negative => "amount_negative",
            Self::TooManyDecimals => "amount_too_many_decimals",
            Self::TooLarge => "amount_too_large",
            Self::NothingCharged => "checkout_empty",
            Self::InvalidQuantity => "invalid_quantity",
            Self::DiscountOverTotal => "discount_over_total",
            Self::DiscountWithoutReason => "discount_reason_required",
            Self::ZeroPayment => "payment_zero",
            Self::PaymentsDontAddUp { .. } => "payments_mismatch",
            Self::AlreadyCharged => "booking_already_charged",
            Self::NotChargeable => "booking_not_chargeable",
            Self::UnknownEntry => "ledger_entry_not_found",
            Self::NotVoidable => "ledger_entry_not_voidable",
            Self::AlreadyVoided => "ledger_entry_already_voided",
            Self::TillAlreadyOpen => "till_already_open",
            Self::TillClosed => "till_closed",
            Self::TillNotOpen => "till_not_open",
            Self::UnknownProduct => "product_not_found",
            Self::OutOfStock(_) => "out_of_stock",
            Self::InvalidPercent => "invalid_percent",
            Self::InvalidPeriod => "invalid_period",
            Self::PeriodClosed => "period_closed",
            Self::MercadoPagoOff => "mercadopago_not_configured",
            Self::NoMercadoPagoLine => "no_mercadopago_line",
            Self::MercadoPagoUnavailable => "mercadopago_unavailable",
        }
    }

    /// Whether the request is fine but the state refuses it (409), not the input (422).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Self::AlreadyCharged
                | Self::NotChargeable
                | Self::AlreadyVoided
                | Self::TillAlreadyOpen
                | Self::TillClosed
                | Self::TillNotOpen
                | Self::OutOfStock(_)
                | Self::PeriodClosed
                | Self::MercadoPagoOff
                | Self::NoMercadoPagoLine
                | Self::MercadoPagoUnavailable
        )
    }

    /// A message for people, in Spanish (es-AR).
    pub fn message_es(&self) -> String {
        use super::amount::format_signed;
        match self {
            Self::Unreadable => "El importe no es un número de pesos (ejemplo: 12.500,50).".into(),
            Self::Negative => "El importe no puede ser negativo.".into(),
            Self::TooManyDecimals => "El importe tiene más de dos decimales.".into(),
            Self::TooLarge => "El importe es demasiado grande.".into(),
            Self::NothingCharged => "Agregá al menos un servicio o un producto.".into(),
            Self::InvalidQuantity => "La cantidad debe ser entre 1 y 999.".into(),
            Self::DiscountOverTotal => "El descuento supera el total.".into(),
            Self::DiscountWithoutReason => "Indicá el motivo del descuento.".into(),
            Self::ZeroPayment => "Un pago no puede ser de $ 0.".into(),
            Self::PaymentsDontAddUp { paid, due } => format!(
                "Los pagos suman {} y hay que cobrar {}.",
                format_signed(*paid),
                format_signed(*due)
            ),
            Self::AlreadyCharged => "Este turno ya está cobrado.".into(),
            Self::NotChargeable => "Un turno cancelado o ausente no se cobra.".into(),
            Self::UnknownEntry => "El movimiento no existe.".into(),
            Self::NotVoidable => "Solo se puede anular un cobro.".into(),
            Self::AlreadyVoided => "Ese cobro ya está anulado.".into(),
            Self::TillAlreadyOpen => "La caja de ese día ya está abierta.".into(),
            Self::TillClosed => "La caja de ese día está cerrada.".into(),
            Self::TillNotOpen => "La caja de ese día no está abierta.".into(),
            Self::UnknownProduct => "El producto no existe.".into(),
            Self::OutOfStock(name) => format!("No hay stock suficiente de «{name}»."),
            Self::InvalidPercent => {
                "El porcentaje debe ser entre 0 y 100, con hasta dos decimales.".into()
            }
            Self::InvalidPeriod => "El período no es válido.".into(),
            Self::PeriodClosed => "Ese período ya está cerrado.".into(),
            Self::MercadoPagoOff => {
                "MercadoPago no está configurado: el pago queda registrado sin link.".into()
            }
            Self::NoMercadoPagoLine => "Este cobro no tiene un pago por MercadoPago.".into(),
            Self::MercadoPagoUnavailable => {
                "MercadoPago no creó el link; probá de nuevo en un momento.".into()
            }
        }
    }
}
