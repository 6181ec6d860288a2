//! The e-mail sender: claims due confirmation e-mails (`store::mail`, leased in the claiming
//! transaction), writes each from the booking as it is now, sends it over SMTP (lettre) and
//! records the outcome. A refusal the server calls permanent (5xx) gives up at once; anything
//! else is retried with a doubling backoff up to `mail.max_attempts`.

use std::time::Duration;

use jiff::SignedDuration;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::{MailConfig, SmtpSecurity};
use crate::domain::time::local_date;
use crate::http::format::{long_date, time as fmt_time};
use crate::store::mail::{self, Letter, Outcome};
use crate::store::{StoreError, catalog};

/// E-mails claimed per round.
const BATCH: usize = 8;

/// Everything the sender needs.
pub struct Mailer {
    pub app: App,
    pub config: MailConfig,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// Why the SMTP transport could not be set up from `[mail]`.
#[derive(Debug, thiserror::Error)]
#[error("mail: {0}")]
pub struct MailSetupError(String);

impl Mailer {
    pub fn new(app: App, config: MailConfig) -> Result<Self, MailSetupError> {
        let host = config.smtp_host.as_str();
        let builder = match config.security {
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
            SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                host,
            )),
        }
        .map_err(|e| MailSetupError(e.to_string()))?;
        let mut builder = builder
            .port(config.smtp_port)
            .timeout(Some(Duration::from_secs(config.timeout_secs)));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        let from = config
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailSetupError(e.to_string()))?;
        Ok(Self {
            app,
            transport: builder.build(),
            from,
            config,
        })
    }

    /// Starts the sender; it finishes the e-mail in hand when `shutdown` fires.
    pub fn spawn(self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move { self.run(shutdown).await })
    }

    async fn run(self, shutdown: CancellationToken) {
        let poll = Duration::from_secs(self.config.poll_interval_secs);
        tracing::info!("mail sender started");
        while !shutdown.is_cancelled() {
            let pause = match self.round().await {
                Ok(n) if n >= BATCH => Duration::ZERO,
                Ok(_) => poll,
                Err(e) => {
                    tracing::error!(error = %e, "mail sender: cannot read the queue");
                    poll
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!("mail sender stopped");
    }

    /// Claims and sends one batch; returns how many were claimed.
    async fn round(&self) -> Result<usize, StoreError> {
        let now = self.app.clock.now();
        // Longer than one SMTP exchange can take: an e-mail is not claimed twice meanwhile.
        let lease =
            SignedDuration::from_secs(i64::try_from(self.config.timeout_secs * 3).unwrap_or(60));
        let letters = self
            .app
            .store
            .write(move |txn| mail::claim_due(txn, now, BATCH, lease))
            .await?;
        let claimed = letters.len();
        for letter in letters {
            let outcome = self.deliver(&letter).await;
            let (id, now) = (letter.id, self.app.clock.now());
            self.app
                .store
                .write(move |txn| mail::record(txn, id, outcome, now))
                .await?;
        }
        Ok(claimed)
    }

    async fn deliver(&self, letter: &Letter) -> Outcome {
        let message = match self.compose(letter).await {
            Ok(m) => m,
            Err(error) => return Outcome::Dead { error },
        };
        match self.transport.send(message).await {
            Ok(_) => {
                tracing::info!(mail = letter.id, "confirmation e-mail sent");
                Outcome::Sent
            }
            Err(e) if e.is_permanent() || letter.attempt >= self.config.max_attempts => {
                tracing::warn!(mail = letter.id, error = %e, "confirmation e-mail given up");
                Outcome::Dead {
                    error: e.to_string(),
                }
            }
            Err(e) => {
                let wait = 30i64.saturating_mul(1 << letter.attempt.min(10));
                tracing::warn!(mail = letter.id, error = %e, wait_secs = wait, "confirmation e-mail failed; retrying");
                Outcome::Retry {
                    error: e.to_string(),
                    at: self.app.clock.now() + SignedDuration::from_secs(wait),
                }
            }
        }
    }

    /// The e-mail: plain text in Spanish, with the booking as a calendar file attached.
    async fn compose(&self, letter: &Letter) -> Result<Message, String> {
        let b = letter.booking.clone();
        let (branch, barber) = self
            .app
            .store
            .read(move |tx| {
                let branch = catalog::branch(tx, b.branch)?;
                let barber = catalog::barber(tx, b.barber)?;
                Ok((branch, barber))
            })
            .await
            .map_err(|e| e.to_string())?;
        let branch = branch.ok_or("the booking's branch is gone")?;
        let b = &letter.booking;
        let tz = branch.tz();
        let when = format!(
            "{} a las {}",
            long_date(local_date(b.start, &tz)),
            fmt_time(b.start, &tz)
        );
        let barber = barber
            .map(|x| x.name.as_str().to_owned())
            .unwrap_or_default();
        let services: Vec<&str> = b.services.iter().map(|s| s.name.as_str()).collect();
        let token = self.app.tokens.issue(b.id);
        let public_id = self.app.ids.public(b.id);
        let link = format!("{}/turnos/{public_id}?token={token}", self.app.public_url);
        let phone = branch
            .phone
            .as_ref()
            .map(|p| format!("Teléfono de la sucursal: {}\n", p.national()))
            .unwrap_or_default();
        let body = format!(
            "Hola {name}:\n\nTu turno quedó reservado.\n\n\
             Día y hora: {when}\n\
             Sucursal: {branch_name}, {address}\n\
             Barbero: {barber}\n\
             Servicios: {services}\n\
             Total: {total}\n\n\
             Para ver, cambiar o cancelar el turno (hasta {cutoff} h antes), usá este enlace \
             privado:\n{link}\n\n{phone}\
             Adjuntamos el turno para agregarlo a tu calendario.\n\n{branch_name}\n",
            name = letter.client_name,
            branch_name = branch.name.as_str(),
            address = branch.address.as_str(),
            services = services.join(", "),
            total = b.total,
            cutoff = self.app.rules.cancel_cutoff_hours,
        );
        let ics = crate::http::ics::booking(
            b,
            &public_id,
            &branch,
            &barber,
            self.app.clock.now(),
            &self.app.public_url,
        );
        let to: Mailbox = letter
            .to
            .as_str()
            .parse()
            .map_err(|e: lettre::address::AddressError| e.to_string())?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("Tu turno en {}: {when}", branch.name.as_str()))
            .multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(body))
                    .singlepart(
                        Attachment::new("turno.ics".into()).body(
                            ics,
                            ContentType::parse("text/calendar; charset=utf-8")
                                .map_err(|e| e.to_string())?,
                        ),
                    ),
            )
            .map_err(|e| e.to_string())
    }
}
