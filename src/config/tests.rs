//! The loader: layers, keys named in errors, the shipped files.

use super::*;

/// Loads `toml` (if any) and `env` inside a figment jail: a private working directory and
/// environment, so tests do not see each other's variables.
#[allow(clippy::result_large_err)] // figment's Jail wants its own error type
fn load(toml: Option<&str>, env: &[(&str, &str)]) -> Result<Config, String> {
    let mut out = Err(String::new());
    figment::Jail::expect_with(|jail| {
        if let Some(t) = toml {
            jail.create_file("barberpro.toml", t)?;
        }
        for (k, v) in env {
            jail.set_env(k, v);
        }
        let file = toml.map(|_| Path::new("barberpro.toml"));
        out = Config::load_with_system_file(file, Path::new("/nonexistent"), &Overrides::default())
            .map_err(|e| e.to_string());
        Ok(())
    });
    out
}

#[test]
fn defaults_need_no_file() {
    let c = load(None, &[]).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8443");
    assert_eq!(c.booking.slot_step_minutes, 15);
    assert_eq!(c.booking.min_notice_minutes, 60);
    assert_eq!(c.booking.horizon_days, 60);
    assert_eq!(c.booking.cancel_cutoff_hours, 2);
    assert_eq!(c.locale.time_zone, "America/Argentina/Buenos_Aires");
    assert_eq!(c.public_url(), "https://127.0.0.1:8443");
}

#[test]
fn layers_apply_in_order() {
    let c = load(
        Some("[server]\nlisten = \"127.0.0.1:1111\"\n[booking]\nhorizon_days = 30\n"),
        &[("BARBERPRO_SERVER__LISTEN", "127.0.0.1:9443")],
    )
    .unwrap();
    assert_eq!(
        c.server.listen.to_string(),
        "127.0.0.1:9443",
        "env beats file"
    );
    assert_eq!(c.booking.horizon_days, 30, "file beats defaults");
}

#[test]
#[allow(clippy::result_large_err)] // figment's Jail wants its own error type
fn flags_beat_the_environment_and_the_system_file_is_the_fallback() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("system.toml", "[booking]\nhorizon_days = 20\n")?;
        jail.create_file("mine.toml", "[booking]\ncancel_cutoff_hours = 5\n")?;
        jail.set_env("BARBERPRO_SERVER__LISTEN", "127.0.0.1:9443");
        jail.set_env("BARBERPRO_STORAGE__DATA_DIR", "/from/env");
        let system = Path::new("system.toml");
        let flags = Overrides {
            data_dir: Some("/from/flag".into()),
            listen: Some("127.0.0.1:7443".parse().expect("addr")),
        };
        let c = Config::load_with_system_file(None, system, &flags).expect("valid");
        assert_eq!(
            c.server.listen.to_string(),
            "127.0.0.1:7443",
            "flag beats env"
        );
        assert_eq!(
            c.storage.data_dir,
            Path::new("/from/flag"),
            "flag beats env"
        );
        assert_eq!(
            c.booking.horizon_days, 20,
            "no --config: the system file is read"
        );
        let c = Config::load_with_system_file(None, system, &Overrides::default()).expect("valid");
        assert_eq!(
            c.server.listen.to_string(),
            "127.0.0.1:9443",
            "env beats files"
        );
        assert_eq!(c.storage.data_dir, Path::new("/from/env"));
        let mine = Path::new("mine.toml");
        let c = Config::load_with_system_file(Some(mine), system, &Overrides::default())
            .expect("valid");
        assert_eq!(c.booking.cancel_cutoff_hours, 5);
        assert_eq!(
            c.booking.horizon_days,
            Config::default().booking.horizon_days,
            "--config replaces the system file, it is not layered on it"
        );
        Ok(())
    });
}

#[test]
fn unknown_keys_are_named() {
    let err = load(Some("[booking]\nhorizon_dayz = 3\n"), &[]).unwrap_err();
    assert!(err.contains("horizon_dayz"), "{err}");
    assert!(err.contains("key `booking.horizon_dayz`"), "{err}");
    assert!(!err.contains("default."), "figment's profile leaks: {err}");
    let err = load(None, &[("BARBERPRO_SERVER__LISTN", "x")]).unwrap_err();
    assert!(err.contains("listn"), "{err}");
    assert!(err.contains("BARBERPRO_SERVER__LISTN"), "{err}");
    let err = load(None, &[("BARBERPRO_BOOKING__HORIZON_DAYS", "many")]).unwrap_err();
    assert!(err.contains("BARBERPRO_BOOKING__HORIZON_DAYS"), "{err}");
}

#[test]
fn bad_values_name_their_key() {
    let err = load(Some("[booking]\nslot_step_minutes = 7\n"), &[]).unwrap_err();
    assert!(err.contains("booking.slot_step_minutes"), "{err}");
    let err = load(Some("[locale]\ntime_zone = \"Mars/Olympus\"\n"), &[]).unwrap_err();
    assert!(err.contains("locale.time_zone"), "{err}");
    let err = load(Some("[server.tls]\nmode = \"files\"\n"), &[]).unwrap_err();
    assert!(err.contains("cert_path"), "{err}");
}

#[test]
fn snapshot_secrets_never_print() {
    let c = load(
        Some("[snapshot.s3]\nbucket = \"b\"\nsecret_access_key = \"hunter2-very-secret\"\n"),
        &[],
    )
    .expect("valid");
    assert_eq!(
        c.snapshot.s3.secret_access_key.as_ref().map(Secret::expose),
        Some("hunter2-very-secret")
    );
    assert!(
        !c.to_toml().contains("hunter2"),
        "config check prints the secret"
    );
    assert!(
        !format!("{c:?}").contains("hunter2"),
        "Debug prints the secret"
    );
    let c = load(
        None,
        &[("BARBERPRO_SNAPSHOT__S3__SECRET_ACCESS_KEY", "from-env")],
    )
    .expect("valid");
    assert_eq!(
        c.snapshot.s3.secret_access_key.as_ref().map(Secret::expose),
        Some("from-env")
    );
    let err = load(Some("[snapshot]\nage_recipient = \"age1nope\"\n"), &[]).expect_err("invalid");
    assert!(err.contains("snapshot.age_recipient"), "{err}");
    let err = load(
        Some("[snapshot.s3]\nendpoint = \"http://127.0.0.1:9000\"\n"),
        &[],
    )
    .expect_err("invalid");
    assert!(err.contains("allow_http"), "{err}");
}

#[test]
fn deposit_policies_per_branch_validate_and_name_their_key() {
    let c = load(
        Some(
            "[payments.deposit]\nkind = \"fixed\"\namount_pesos = 2000\n\
             [payments.branches.palermo]\nkind = \"percent\"\npercent = 30\nafter_no_shows = 2\n",
        ),
        &[],
    )
    .expect("valid");
    assert!(!c.payments.enabled, "payments are off unless enabled");
    assert_eq!(c.payments.hold_minutes, 15);
    let palermo = c.payments.policy_for("palermo");
    assert_eq!(
        palermo.kind(),
        crate::domain::DepositKind::Percent { percent: 30 }
    );
    assert_eq!(palermo.after_no_shows(), 2);
    let other = c.payments.policy_for("belgrano");
    assert_eq!(
        other.kind(),
        crate::domain::DepositKind::Fixed {
            amount: crate::domain::Money::from_pesos(2000).unwrap()
        }
    );
    let err = load(
        Some("[payments.branches.palermo]\nkind = \"percent\"\npercent = 130\n"),
        &[],
    )
    .unwrap_err();
    assert!(
        err.contains("payments.branches") && err.contains("palermo"),
        "{err}"
    );
    let err = load(Some("[payments.deposit]\nkind = \"fixed\"\n"), &[]).unwrap_err();
    assert!(err.contains("payments.deposit"), "{err}");
    let err = load(Some("[payments]\nenabled = true\n"), &[]).unwrap_err();
    assert!(err.contains("payments.access_token_file"), "{err}");
    let err = load(Some("[payments]\nhold_minutes = 0\n"), &[]).unwrap_err();
    assert!(err.contains("payments.hold_minutes"), "{err}");
}

#[test]
fn whatsapp_ids_from_the_environment_may_look_like_numbers() {
    let c = load(
        None,
        &[
            ("BARBERPRO_WHATSAPP__PHONE_NUMBER_ID", "109876543210"),
            ("BARBERPRO_WHATSAPP__VERIFY_TOKEN", "123456"),
            ("BARBERPRO_WHATSAPP__ACCESS_TOKEN", "EAAG-secret-token"),
            ("BARBERPRO_WHATSAPP__ARGENTINA_MOBILE", "without_9"),
        ],
    )
    .expect("valid");
    assert_eq!(c.whatsapp.argentina_mobile, ArgentinaMobile::Without9);
    assert_eq!(c.whatsapp.phone_number_id.as_deref(), Some("109876543210"));
    assert_eq!(
        c.whatsapp.verify_token.as_ref().map(Secret::expose),
        Some("123456")
    );
    assert!(
        !c.to_toml().contains("EAAG-secret-token"),
        "the token printed"
    );
    let err = load(Some("[whatsapp]\nenabled = true\n"), &[]).expect_err("incomplete");
    assert!(err.contains("whatsapp.phone_number_id"), "{err}");
    let err = load(Some("[whatsapp]\nreminders_minutes_before = [0]\n"), &[]).expect_err("invalid");
    assert!(err.contains("whatsapp.reminders_minutes_before"), "{err}");
}

/// Every key path of a TOML table (`server.tls.mode`, …); an empty table is a key too.
fn key_paths(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(t) if !t.is_empty() => key_paths(t, &path, out),
            _ => out.push(path),
        }
    }
}

/// Loading equal to the defaults is not enough: a key left out of the file loads its
/// default too. Both shipped files must spell out every key the defaults have.
#[test]
fn the_shipped_files_name_every_key() {
    let mut defaults = Vec::new();
    key_paths(
        &toml::Table::try_from(Config::default()).unwrap(),
        "",
        &mut defaults,
    );
    assert!(defaults.len() > 50, "{defaults:?}");
    for (name, text) in [
        ("barberpro.toml", include_str!("../../barberpro.toml")),
        (
            "packaging/barberpro.production.toml",
            include_str!("../../packaging/barberpro.production.toml"),
        ),
    ] {
        let mut keys = Vec::new();
        key_paths(&text.parse::<toml::Table>().unwrap(), "", &mut keys);
        let missing: Vec<_> = defaults.iter().filter(|k| !keys.contains(k)).collect();
        assert!(missing.is_empty(), "{name} does not name {missing:?}");
    }
}

#[test]
fn the_documented_file_is_the_defaults() {
    let c = load(Some(include_str!("../../barberpro.toml")), &[]).unwrap();
    assert_eq!(c, Config::default());
}

/// The .deb's conffile must load as it ships (the package's scripts run the binary on it).
#[test]
fn the_production_file_loads_and_validates() {
    let c = load(
        Some(include_str!("../../packaging/barberpro.production.toml")),
        &[],
    )
    .unwrap();
    assert_eq!(c.server.tls, Config::default().server.tls);
}

#[test]
fn values_that_do_not_parse_name_their_key() {
    let cases = [
        (
            "[rate_limit]\ntrusted_proxies = [\"10.0.0.0/40\"]\n",
            "rate_limit.trusted_proxies",
        ),
        (
            "[security]\ncors_allowed_origins = [\"*\"]\n",
            "security.cors_allowed_origins",
        ),
        (
            "[server]\npublic_url = \"reservas.example\"\n",
            "server.public_url",
        ),
        (
            "[payments]\napi_base_url = \"api.example\"\n",
            "payments.api_base_url",
        ),
        ("[whatsapp]\nbase_url = \"graph\"\n", "whatsapp.base_url"),
        ("[log]\nlevel = \"info,=,\"\n", "log.level"),
        ("[locale]\nlanguage = \"en\"\n", "locale.language"),
        ("[snapshot]\nhost = \"a b\"\n", "snapshot.host"),
        ("[snapshot.s3]\nprefix = \"/x\"\n", "snapshot.s3.prefix"),
        (
            "[snapshot.s3]\nendpoint = \"s3.example\"\n",
            "snapshot.s3.endpoint",
        ),
        (
            "[server.tls.acme]\ndomains = [\"*.example.com\"]\n",
            "server.tls.acme.domains",
        ),
        (
            "[server.tls.acme]\ncontact = \"nobody\"\n",
            "server.tls.acme.contact",
        ),
    ];
    for (toml, key) in cases {
        let err = load(Some(toml), &[]).expect_err(toml);
        assert!(
            err.contains(&format!("invalid value for `{key}")),
            "{key}: {err}"
        );
        assert!(
            err.contains("barberpro.toml"),
            "{key}: the file is not named: {err}"
        );
    }
}

#[test]
fn values_from_the_environment_name_the_key_and_the_variable() {
    let err = load(None, &[("BARBERPRO_SERVER__PUBLIC_URL", "example.com")]).unwrap_err();
    assert!(err.contains("`server.public_url`"), "{err}");
    assert!(err.contains("BARBERPRO_SERVER__PUBLIC_URL"), "{err}");
}

#[test]
fn ranges_and_keys_that_go_together_name_their_key() {
    type Spoil = fn(&mut Config);
    let cases: [(&str, Spoil); 6] = [
        ("rate_limit.booking", |c| c.rate_limit.booking.requests = 0),
        ("rate_limit.prune_interval_secs", |c| {
            c.rate_limit.prune_interval_secs = 0
        }),
        ("server.limits", |c| c.server.limits.max_connections = 0),
        ("health.min_free_disk_mib", |c| {
            c.health.min_free_disk_mib = u64::MAX
        }),
        ("storage.data_dir", |c| c.storage.data_dir = PathBuf::new()),
        ("snapshot.s3.endpoint", |c| {
            c.snapshot.s3.endpoint = Some("http://127.0.0.1:9000".parse().expect("url"))
        }),
    ];
    for (key, spoil) in cases {
        let mut config = Config::default();
        spoil(&mut config);
        let err = config.validate().expect_err(key).to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
    Config::default()
        .validate()
        .expect("the defaults are valid");
}

/// `config check` prints what it loaded; that text loads back to the same configuration
/// (keys not set print as `""` and read back as not set).
#[test]
fn the_effective_configuration_loads_back() {
    let mut c = Config::default();
    c.server.public_url = Some("https://reservas.example".parse().expect("url"));
    c.rate_limit.trusted_proxies = vec![
        "10.0.0.0/8".parse().expect("net"),
        "::1".parse().expect("ip"),
    ];
    c.snapshot.host = Some("host-1".parse().expect("host"));
    let text = c.to_toml();
    assert!(text.contains("local_dir = \"\""), "{text}");
    assert!(
        text.contains("\"10.0.0.0/8\"") && text.contains("\"::1\""),
        "{text}"
    );
    assert_eq!(load(Some(&text), &[]).expect("loads"), c);
}
