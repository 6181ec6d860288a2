//! Building and running the application: open the store, load TLS, bind the listener,
//! serve until the shutdown token fires, then drain connections and stop the writer.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::app::Clock;
use crate::config::Config;
use crate::http::connection::Protocol;
use crate::http::{self, AppState};
use crate::store::{Store, StoreError};
use crate::tls::{self, CertResolver};

/// Why the application could not start. Each maps to its own exit code in `main`.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("payments: {0}")]
    Payments(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The database writer halted after an I/O error while serving: the server stopped, so
    /// that a restart replays the journal (exit code 7).
    #[error("the database halted: {0}")]
    Halted(String),
    /// The store could not open for lack of room (its replay or start must write); the
    /// start waited up to [`NO_ROOM_BACK_OFF`] for room first (exit code 9).
    #[error("the disk is full, the database cannot open: {0}")]
    NoRoom(StoreError),
}

/// How long a start that cannot open the store for lack of room waits for room before it
/// exits (12): its supervisor then restarts it about once a minute, not every 2 s, and within
/// systemd's default start timeout (90 s).
pub const NO_ROOM_BACK_OFF: Duration = Duration::from_secs(60);

/// Options that are not configuration: demo data, a pinned clock (tests).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub demo: bool,
    pub clock: Clock,
}

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    state: AppState,
    tls: Option<(TlsAcceptor, Arc<CertResolver>)>,
    config: Config,
    /// The metrics listener and the bearer token it asks for, if enabled.
    metrics_listener: Option<(TcpListener, Option<Arc<str>>)>,
    /// The WhatsApp client, when `[whatsapp]` is enabled (the outbox sender uses it).
    whatsapp: Option<crate::integrations::whatsapp::WhatsApp>,
}

impl Application {
    /// Opens the data folder, prepares TLS and binds the listener (port 0 picks a free one).
    pub async fn build(config: Config, options: Options) -> Result<Self, StartError> {
        let data_dir = config.storage.data_dir.clone();
        let store = match Store::open_with(
            &data_dir,
            config.storage.cache_size_mb * 1024 * 1024,
            std::time::Duration::from_millis(config.storage.checkpoint_interval_ms),
        ) {
            Ok(store) => store,
            Err(e) if e.is_disk_full() => {
                tracing::error!(error = %e, "the database cannot open: the disk is full; \
                    waiting for room before exiting (12)");
                let room = wait_for_more_room(&data_dir, config.health.min_free_disk_mib);
                let _ = tokio::time::timeout(NO_ROOM_BACK_OFF, room).await;
                return Err(StartError::NoRoom(e));
            }
            Err(e) => return Err(e.into()),
        };
        // A start on a full disk serves halted, as the runtime halt does: reads served,
        // writes refused with 503, and an exit (7) once there is room. The start's own
        // writes below wait for that restart.
        let min_mib = config.health.min_free_disk_mib;
        if let Some(free) = short_of_room(&data_dir, min_mib) {
            store.halt().halt_disk_full(&format!(
                "the disk is full: {free} bytes free in {}, less than \
                 health.min_free_disk_mib ({} MiB)",
                data_dir.display(),
                min_mib.max(1)
            ));
        }
        let writable = store.halt().reason().is_none();
        if options.demo && writable {
            crate::demo::seed_if_empty(&store, options.clock.now()).await?;
        }
        let tokens = store.token_key().clone();
        let wa = &config.whatsapp;
        if writable {
            // Booking changes queue messages by this policy, inside their own transactions.
            let policy = crate::store::outbox::Policy {
                enabled: wa.enabled,
                reminders_minutes_before: wa.reminders_minutes_before.clone(),
            };
            store
                .write(move |txn| crate::store::outbox::configure(txn, &policy))
                .await?;
            // Bookings made with an e-mail address queue their confirmation while `[mail]`
            // is on.
            let mail_policy = crate::store::mail::Policy {
                enabled: config.mail.enabled,
            };
            store
                .write(move |txn| crate::store::mail::configure(txn, &mail_policy))
                .await?;
        }
        let whatsapp = if wa.enabled {
            Some(crate::integrations::whatsapp::WhatsApp::new(wa)?)
        } else {
            None
        };
        let webhook = http::webhooks::whatsapp::Settings {
            app_secret: crate::config::WhatsAppConfig::read_secret(
                wa.app_secret.as_ref(),
                wa.app_secret_file.as_deref(),
            )?,
            verify_token: wa.verify_token.clone().unwrap_or_default(),
        };
        let tls = match tls::load(&config.server.tls, &data_dir)? {
            Some(key) => {
                let resolver = Arc::new(CertResolver::new(key));
                let acme = config.server.tls.mode == crate::config::TlsMode::Acme;
                let acceptor = TlsAcceptor::from(tls::server_config(resolver.clone(), acme));
                Some((acceptor, resolver))
            }
            None => None,
        };
        let listener = TcpListener::bind(config.server.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.server.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.server.listen,
            source,
        })?;
        // With port 0 the public URL must name the port actually bound.
        let public_url = if config.server.public_url.is_none() {
            let scheme = if tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{addr}")
        } else {
            config.public_url()
        };
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let observed = metrics.clone();
        store.observe_writer(Box::new(move |event| observed.writer_event(event)));
        match store.read(crate::store::catalog::branches).await {
            Ok(branches) => branches
                .iter()
                .for_each(|b| metrics.init_branch(b.slug.as_str())),
            Err(e) => tracing::warn!(error = %e, "cannot list the branches for metrics"),
        }
        let max_connections = config.server.limits.max_connections;
        metrics
            .connections_max
            .set(i64::try_from(max_connections).unwrap_or(i64::MAX));
        let limits = Arc::new(http::ratelimit::RateLimits::new(
            &config.rate_limit,
            &metrics,
        ));
        let security = Arc::new(http::security::Policy::new(&config, tls.is_some()));
        let acme = match (&tls, config.server.tls.mode) {
            (Some((_, resolver)), crate::config::TlsMode::Acme) => Some(crate::acme::Acme::new(
                config.server.tls.acme.clone(),
                &data_dir,
                resolver.clone(),
                metrics.clone(),
            )),
            _ => None,
        };
        let readiness = Arc::new(http::ops::Readiness {
            certificate: tls.as_ref().map(|(_, resolver)| resolver.clone()),
            acme: acme.clone(),
            min_free_disk_mib: config.health.min_free_disk_mib,
            max_snapshot_age_hours: config.health.max_snapshot_age_hours,
            max_outbox_delay_minutes: config.health.max_outbox_delay_minutes,
        });
        let metrics_listener = if config.metrics.enabled {
            let token = match &config.metrics.bearer_token_file {
                Some(path) => Some(read_token(path)?),
                None => None,
            };
            // Bookings matter more than metrics: without its listener the server still
            // serves (the failed scrape raises the BarberProDown alert).
            match TcpListener::bind(config.metrics.listen).await {
                Ok(listener) => Some((listener, token)),
                Err(e) => {
                    tracing::error!(addr = %config.metrics.listen, error = %e,
                        "cannot listen for metrics; serving without /metrics");
                    None
                }
            }
        } else {
            None
        };
        let payments = crate::app::deposits::Deposits::load(&config.payments)
            .map_err(StartError::Payments)?
            .map(Arc::new);
        if payments.is_some() && !public_url.starts_with("https://") {
            tracing::warn!(%public_url, "MercadoPago only calls HTTPS notification URLs: set \
                server.public_url to the https:// address it can reach");
        }
        let state = AppState::new(http::Shared {
            app: crate::app::App {
                store,
                rules: config.booking_rules(),
                ids: crate::app::public_ids(&tokens, numeric_ids_until(&config)),
                tokens,
                public_url: public_url.into(),
                clock: options.clock,
                metrics,
                payments,
            },
            limits,
            security,
            readiness,
            admin: Arc::new(http::admin::Settings {
                sessions: config.admin.session_limits(),
                secure_cookies: tls.is_some() || config.server.public_url_is_https(),
                system: http::admin::system::SystemSettings {
                    snapshots_dir: config.snapshot.local_dir(&config.storage.data_dir),
                    time_zone: crate::domain::time::time_zone(&config.locale.time_zone)
                        .unwrap_or(jiff::tz::TimeZone::UTC),
                    started_at: jiff::Timestamp::now(),
                    config_summary: config.to_toml(),
                    task: Default::default(),
                },
            }),
            whatsapp: Arc::new(webhook),
        });
        if writable {
            crate::app::sessions::offer_setup_link(&state, config.admin.setup_link_hours).await?;
        }
        let request_timeout = Duration::from_secs(config.server.timeouts.request_secs);
        let router =
            http::router(state.clone()).layer(tower_http::timeout::TimeoutLayer::with_status_code(
                axum::http::StatusCode::REQUEST_TIMEOUT,
                request_timeout,
            ));
        // Outermost, so timeouts and panics get the security headers too.
        let headers =
            axum::middleware::from_fn_with_state(state.security.clone(), http::security::headers);
        let router = router.layer(headers);
        Ok(Self {
            listener,
            addr,
            router,
            state,
            tls,
            config,
            metrics_listener,
            whatsapp,
        })
    }

    /// The metrics listener's address, when enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` fires, then stops accepting, lets in-flight requests finish
    /// (bounded by `server.timeouts.shutdown_grace_secs`) and stops the database writer.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), StartError> {
        let Self {
            listener,
            addr,
            router,
            state,
            tls,
            config,
            metrics_listener,
            whatsapp,
        } = self;
        let timeouts = config.server.timeouts.clone();
        let limits = config.server.limits.clone();
        let server = Arc::new(http::connection::Server::new(&timeouts, &limits));
        // Beyond max_connections, a new connection is closed at once: a flood cannot make us
        // run out of file descriptors or memory, and the client learns it straight away.
        let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
        http::ratelimit::spawn_pruning(
            state.limits.clone(),
            Duration::from_secs(config.rate_limit.prune_interval_secs),
            shutdown.clone(),
        );
        if let Some((listener, bearer_token)) = metrics_listener {
            let endpoint = http::ops::metrics::Endpoint {
                state: state.clone(),
                bearer_token,
            };
            http::ops::metrics::spawn(listener, endpoint, shutdown.clone());
        }
        if let Some((_, resolver)) = &tls {
            crate::cert_upkeep::spawn(&config, resolver.clone(), shutdown.clone());
        }
        if let Some(deposits) = &state.payments {
            crate::jobs::payments::spawn(state.app.clone(), deposits.clone(), shutdown.clone());
        }
        if let Some(acme) = &state.readiness.acme {
            acme.clone().spawn(shutdown.clone());
        }
        let sender = whatsapp.map(|whatsapp| {
            let sender = crate::jobs::outbox::Sender {
                store: state.store.clone(),
                whatsapp,
                config: Arc::new(config.whatsapp.clone()),
                clock: state.clock.clone(),
                metrics: state.metrics.clone(),
            };
            crate::jobs::outbox::spawn(sender, shutdown.clone())
        });
        let mailer = if config.mail.enabled {
            match crate::jobs::mail::Mailer::new(state.app.clone(), config.mail.clone()) {
                Ok(mailer) => Some(mailer.spawn(shutdown.clone())),
                Err(e) => {
                    // The e-mails wait in the queue until a restart with a usable `[mail]`.
                    tracing::error!(error = %e, "cannot set up the mail sender");
                    None
                }
            }
        } else {
            None
        };
        // `barberpro snapshot` asks this server over a Unix socket (issue 5).
        crate::control::spawn(&config, state.app.clone(), shutdown.clone());
        // Continuous backup (issue 30): stopped after the writer, for a last round.
        let shipping_stop = CancellationToken::new();
        let shipping = (config.snapshot.replicate_interval_secs > 0
            && config.snapshot.s3.bucket.is_some())
        .then(|| {
            tokio::spawn(crate::snapshot::replicate::run(
                Arc::new(config.clone()),
                state.store.clone(),
                shipping_stop.clone(),
            ))
        });
        crate::housekeeping::Housekeeping {
            store: state.store.clone(),
            clock: state.clock.clone(),
            idempotency_ttl: Duration::from_secs(
                u64::from(config.booking.idempotency_ttl_hours) * 3600,
            ),
        }
        .spawn(shutdown.clone());
        crate::retention::spawn(
            state.store.clone(),
            state.clock.clone(),
            crate::retention::Settings::from_config(&config),
            shutdown.clone(),
        );
        // An I/O error the database cannot go on after stops the server: its supervisor
        // restarts it, and the start replays the journal. On a full disk a restart cannot
        // replay (it needs room), so the server first waits for room, still up: reads
        // served, writes refused with 503, /readyz failing, its metrics scraped.
        let halted = Arc::new(std::sync::OnceLock::new());
        {
            let (halt, halted, shutdown) =
                (state.store.halt().clone(), halted.clone(), shutdown.clone());
            let dir = state.store.path().parent().map(Path::to_path_buf);
            let min_mib = state.readiness.min_free_disk_mib;
            tokio::spawn(async move {
                tokio::select! {
                    why = halt.halted() => {
                        let _ = halted.set(why.to_string());
                        if let Some(dir) = dir {
                            tokio::select! {
                                () = wait_for_room(&dir, min_mib) => {}
                                () = shutdown.cancelled() => {}
                            }
                        }
                        shutdown.cancel();
                    }
                    _ = shutdown.cancelled() => {}
                }
            });
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!(%addr, url = %format!("{scheme}://{addr}"), "BarberPro is serving");
        notify_service_manager(&[sd_notify::NotifyState::Ready]);
        // Off the start-up path, and before clients would pay for it.
        tokio::task::spawn_blocking(crate::domain::Phone::warm_up);
        let handshake_timeout = Duration::from_secs(timeouts.header_read_secs);
        loop {
            let (stream, peer) = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, don't spin.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let Ok(permit) = connections.clone().try_acquire_owned() else {
                state.metrics.connections_refused.inc();
                tracing::debug!(%peer, "connection closed: server.limits.max_connections reached");
                drop(stream);
                continue;
            };
            let open = state.metrics.connection_opened();
            let router = router.clone();
            let server = server.clone();
            let draining = shutdown.clone();
            let tls = tls.as_ref().map(|(acceptor, _)| acceptor.clone());
            tokio::spawn(async move {
                // Released when the connection ends, however it ends.
                let _held = (permit, open);
                let served = match tls {
                    Some(acceptor) => {
                        // The handshake's state and then the TLS stream are boxed: a
                        // connection's task stays small while it idles (see
                        // `http::connection`), ~1 KiB instead of ~10.
                        let handshake = Box::pin(tokio::time::timeout(
                            handshake_timeout,
                            acceptor.accept(stream),
                        ));
                        let stream = match handshake.await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                        let protocol = match stream.get_ref().1.alpn_protocol() {
                            // The CA's TLS-ALPN-01 check ends with the handshake.
                            Some(tls::ACME_TLS_ALPN) => return,
                            Some(b"h2") => Protocol::Http2,
                            _ => Protocol::Http1,
                        };
                        server
                            .serve(Box::new(stream), protocol, peer, router, &draining)
                            .await
                    }
                    None => {
                        server
                            .serve(stream, Protocol::Sniff, peer, router, &draining)
                            .await
                    }
                };
                if let Err(e) = served {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        }
        drop(listener);
        notify_service_manager(&[sd_notify::NotifyState::Stopping]);
        tracing::info!("shutting down: no new connections, finishing in-flight requests");
        let grace = Duration::from_secs(timeouts.shutdown_grace_secs);
        // Every connection holds a permit until it ends: all of them back means all ended.
        let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout(grace, connections.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!(?grace, "some connections did not finish in time");
        }
        // The sender finishes its round (recording what it sent) before the writer stops.
        if let Some(sender) = sender
            && tokio::time::timeout(grace, sender).await.is_err()
        {
            tracing::warn!("the outbox sender did not stop in time");
        }
        if let Some(mailer) = mailer
            && tokio::time::timeout(grace, mailer).await.is_err()
        {
            tracing::warn!("the mail sender did not stop in time");
        }
        state.store.close().await;
        shipping_stop.cancel();
        if let Some(shipping) = shipping
            && tokio::time::timeout(grace, shipping).await.is_err()
        {
            tracing::warn!("continuous backup's last round did not finish in time");
        }
        tracing::info!("stopped");
        match halted.get() {
            Some(why) => Err(StartError::Halted(why.clone())),
            None => Ok(()),
        }
    }
}

/// The bytes free on the data folder's disk when less than `health.min_free_disk_mib` (at
/// least 1 MiB); `None` when there is room, or its free space cannot be read.
pub fn short_of_room(dir: &Path, min_mib: u64) -> Option<u64> {
    let space = crate::metrics::disk_space(dir)?;
    (space.free >> 20 < min_mib.max(1)).then_some(space.free)
}

/// Returns once the data folder's disk has `health.min_free_disk_mib` free (at least 1 MiB),
/// checked every second; at once if its free space cannot be read.
pub async fn wait_for_room(dir: &Path, min_mib: u64) {
    let mut warned = false;
    while let Some(free) = short_of_room(dir, min_mib) {
        if !warned {
            warned = true;
            tracing::error!(
                free_bytes = free,
                minimum_mib = min_mib.max(1),
                "the disk is full: bookings are refused until there is room, then the server \
                 exits so that a restart replays the journal"
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Returns once the data folder's disk has `health.min_free_disk_mib` free and a MiB more
/// than now (the open failed with this much free), checked every second.
async fn wait_for_more_room(dir: &Path, min_mib: u64) {
    let free = |dir| crate::metrics::disk_space(dir).map_or(0, |s| s.free);
    let needed = (free(dir) + (1 << 20)).max(min_mib.max(1) << 20);
    while free(dir) < needed {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Tells systemd (`Type=notify`) that we are ready or stopping. Without `NOTIFY_SOCKET` (not
/// under systemd) this does nothing; a failure is logged, never fatal.
fn notify_service_manager(state: &[sd_notify::NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!(error = %e, "could not notify systemd");
    }
}

/// A bearer token from a file (e.g. a systemd credential), trimmed; empty is an error.
fn read_token(path: &Path) -> Result<Arc<str>, StartError> {
    let context = format!("reading the metrics token {}", path.display());
    let text = std::fs::read_to_string(path).map_err(|source| StartError::Io {
        context: context.clone(),
        source,
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(StartError::Io {
            context,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "the file is empty"),
        });
    }
    Ok(token.into())
}

/// The end of the numeric booking ids' window: `booking.numeric_ids_until`, at the start of
/// that day in the chain's time zone.
fn numeric_ids_until(config: &Config) -> Option<jiff::Timestamp> {
    let tz = crate::domain::time::time_zone(&config.locale.time_zone).ok()?;
    config
        .booking
        .numeric_ids_until
        .to_zoned(tz)
        .ok()
        .map(|z| z.timestamp())
}
