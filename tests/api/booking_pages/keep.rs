//! What a client keeps after booking: the `.ics` (read back by the `ical` crate), Back after
//! booking («ya reservaste», in Chromium at 390 px), and the confirmation e-mail, which
//! reaches a local SMTP server once, and not at all without an address.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use barberpro::config::SmtpSecurity;
use barberpro::domain::BookingId;
use barberpro::http::Clock;
use barberpro::store::mail;
use fantoccini::{Client, Locator};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::*;
use crate::chromium::{Screen, click, connect, shot, start_driver, wait_for, wait_for_text};
use crate::helpers::{MONDAY_8AM, spawn_app, spawn_app_configured, ts};

#[tokio::test]
async fn the_calendar_file_parses_with_the_booking_in_utc() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let (id, token) = book_through_pages(&app, &mut b, "10:00").await;
    let manage = b
        .get(&format!("/turnos/{id}?token={token}&aviso=reservado"))
        .await;
    for needle in [
        &format!("/turnos/{id}/calendario.ics?token="),
        "https://wa.me/?text=Tengo%20turno%20en%20BarberPro%20Palermo",
        "https://www.google.com/maps/search/?api=1&#38;query=BarberPro+Palermo%2C+Av.+Santa+Fe+3456%2C+CABA",
        "href=\"tel:+541148331234\"",
        "Llamar a la sucursal: <span class=\"nowrap\">011 4833-1234</span>",
        "id=\"how-to-cancel\"",
    ] {
        assert!(
            manage.body.contains(needle),
            "{needle:?} missing: {}",
            manage.body
        );
    }
    let share = &manage.body[manage.body.find("https://wa.me/").expect("share link")..];
    let share = &share[..share.find('"').expect("closing quote")];
    assert!(
        !share.contains("token") && !share.contains(&token),
        "the shared text never carries the private link: {share}"
    );

    let response = app
        .client
        .get(app.url(&format!("/turnos/{id}/calendario.ics?token={token}")))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(header("content-type"), "text/calendar; charset=utf-8");
    assert_eq!(header("cache-control"), "no-store", "it names the booking");
    assert!(header("content-disposition").starts_with("attachment;"));
    let body = response.text().await.expect("body");
    let mut parser = ical::IcalParser::new(body.as_bytes());
    let calendar = parser
        .next()
        .expect("one calendar")
        .expect("it parses as iCalendar");
    assert!(parser.next().is_none(), "exactly one calendar");
    assert_eq!(calendar.events.len(), 1);
    let event = &calendar.events[0];
    let prop = |name: &str| {
        event
            .properties
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
            .unwrap_or_else(|| panic!("no {name} in {body}"))
    };
    // 10:00 in Buenos Aires (UTC−3) is 13:00 UTC; corte clásico lasts 30 minutes.
    assert_eq!(prop("DTSTART"), "20270302T130000Z");
    assert_eq!(prop("DTEND"), "20270302T133000Z");
    assert_eq!(prop("SUMMARY"), "Corte clásico en BarberPro Palermo");
    assert_eq!(
        prop("LOCATION"),
        "BarberPro Palermo\\, Av. Santa Fe 3456\\, CABA"
    );
    assert!(prop("UID").starts_with(&format!("turno-{id}@")));
    let wrong = app
        .client
        .get(app.url(&format!("/turnos/{id}/calendario.ics?token=x{token}")))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 404, "a wrong token gets nothing");
}

/// One e-mail as the SMTP server received it.
#[derive(Debug, Clone)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
}

/// A small SMTP server (RFC 5321's commands, one message per transaction, dot-unstuffing):
/// what a relay on the same machine would be.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let shared = inbox.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let inbox = shared.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 localhost ESMTP test\r\n").await;
                let (mut from, mut to) = (String::new(), Vec::new());
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") {
                        b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
                    } else if upper.starts_with("HELO") {
                        b"250 localhost\r\n"
                    } else if upper.starts_with("MAIL FROM:") {
                        from = line[10..].trim().to_owned();
                        b"250 OK\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        to.push(line[8..].trim().to_owned());
                        b"250 OK\r\n"
                    } else if upper == "DATA" {
                        let _ = write
                            .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                            .await;
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(l.strip_prefix('.').unwrap_or(&l));
                            data.push('\n');
                        }
                        inbox.lock().expect("inbox").push(Received {
                            from: std::mem::take(&mut from),
                            to: std::mem::take(&mut to),
                            data,
                        });
                        b"250 OK: queued\r\n"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 Bye\r\n").await;
                        break;
                    } else if upper == "RSET" || upper == "NOOP" {
                        b"250 OK\r\n"
                    } else {
                        b"502 Command not implemented\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, inbox)
}

fn received(inbox: &Arc<Mutex<Vec<Received>>>) -> Vec<Received> {
    inbox.lock().expect("inbox").clone()
}

#[tokio::test]
async fn the_confirmation_email_reaches_the_smtp_server_once_and_never_without_an_address() {
    let (port, inbox) = smtp_server().await;
    let app = spawn_app_configured(Clock::manual(ts(MONDAY_8AM)), |c, _| {
        c.mail.enabled = true;
        c.mail.smtp_host = "127.0.0.1".into();
        c.mail.smtp_port = port;
        c.mail.security = SmtpSecurity::None;
        c.mail.from = "BarberPro Palermo <turnos@barberpro.test>".into();
        c.mail.poll_interval_secs = 1;
    })
    .await;
    let mut b = Browser::new(&app);
    let details = b
        .get("/reservar/palermo/datos?services=1&barber=1&start=2027-03-02T10%3A00%3A00-03%3A00")
        .await;
    assert_html_page(&details, 200, "te mandamos la confirmación por correo");
    let mut fields = form(
        "mail-1",
        &["1"],
        "1",
        "10:00",
        "Ana Gómez",
        "011 15-2345-6001",
    );
    fields.push(("email".into(), "ana@example.com".into()));
    let page = post_form(&mut b, "/reservar/palermo", &fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let (id, token) = manage_target(&app, &page.location);

    let mut waited = 0;
    while received(&inbox).is_empty() {
        assert!(waited < 100, "no e-mail reached the SMTP server in 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let shown = b.get(&format!("/turnos/{id}?token={token}")).await;
    assert!(
        shown.body.contains("id=\"emailed\""),
        "the page says it was e-mailed"
    );

    // Give the sender a few more rounds: it must not send the same e-mail again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = received(&inbox);
    assert_eq!(got.len(), 1, "exactly one e-mail: {got:?}");
    let mail = &got[0];
    assert_eq!(mail.to, vec!["<ana@example.com>".to_owned()]);
    assert_eq!(mail.from, "<turnos@barberpro.test>");
    for needle in [
        "To: ana@example.com",
        "Subject: Tu turno en BarberPro Palermo: martes 02/03/2027 a las 10:00",
        "text/calendar",
        "turno.ics",
    ] {
        assert!(
            mail.data.contains(needle),
            "{needle:?} missing from {}",
            mail.data
        );
    }
    let unfolded = mail.data.replace("=\n", "");
    assert!(
        unfolded.contains(&format!("/turnos/{id}?token=3D{token}"))
            || unfolded.contains(&format!("/turnos/{id}?token={token}")),
        "the e-mail carries the manage link: {}",
        mail.data
    );
    let row = app
        .store
        .read(move |tx| mail::for_booking(tx, BookingId(id.n)))
        .await
        .expect("read")
        .expect("a mail row");
    assert_eq!(row.state, mail::State::Sent);
    assert_eq!(row.attempts, 1);

    // Without an address, nothing is queued or sent.
    let fields = form(
        "mail-2",
        &["1"],
        "1",
        "11:00",
        "Beto Sin Correo",
        "011 15-2345-6002",
    );
    let page = post_form(&mut b, "/reservar/palermo", &fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let (other, _) = manage_target(&app, &page.location);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(received(&inbox).len(), 1, "no e-mail without an address");
    let none = app
        .store
        .read(move |tx| mail::for_booking(tx, BookingId(other.n)))
        .await
        .expect("read");
    assert!(none.is_none(), "nothing queued: {none:?}");
}

#[tokio::test]
async fn with_mail_off_nothing_is_queued() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let details = b
        .get("/reservar/palermo/datos?services=1&barber=1&start=2027-03-02T10%3A00%3A00-03%3A00")
        .await;
    assert_html_page(&details, 200, "Hasta 254 caracteres.");
    assert!(
        !details.body.contains("por correo"),
        "no e-mail is promised while [mail] is off"
    );
    let mut fields = form(
        "mail-off",
        &["1"],
        "1",
        "10:00",
        "Ana Gómez",
        "011 15-2345-6001",
    );
    fields.push(("email".into(), "ana@example.com".into()));
    let page = post_form(&mut b, "/reservar/palermo", &fields).await;
    let (id, _) = manage_target(&app, &page.location);
    let row = app
        .store
        .read(move |tx| mail::for_booking(tx, BookingId(id.n)))
        .await
        .expect("read");
    assert!(row.is_none(), "[mail] is off by default");
}

#[tokio::test]
async fn back_after_booking_says_ya_reservaste_in_chromium_at_390_px() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    let c = connect(
        &driver,
        Screen::Phone {
            width: 390,
            height: 844,
        },
    )
    .await;
    let result = back_after_booking(&c, &app).await;
    let _ = c.close().await;
    result.unwrap_or_else(|e| panic!("Back after booking in Chromium: {e}"));
}

async fn back_after_booking(c: &Client, app: &TestApp) -> Result<(), fantoccini::error::CmdError> {
    c.goto(&app.url("/reservar/palermo/horario?services=1&barber=any&date=2027-03-02"))
        .await?;
    wait_for(c, "label.slot").await?;
    click(c, "label.slot").await?;
    click(c, "#next").await?;
    wait_for(c, "#details-form").await?;
    let barber = c
        .find(Locator::Css("#details-barber"))
        .await?
        .text()
        .await?;
    assert!(
        barber.ends_with("(por «Cualquiera»)") && !barber.starts_with("Cualquiera"),
        "the details name the slot's barber: {barber}"
    );
    // A refused submit: focus goes to the first field in error, whose limit was said first.
    click(c, "#confirm").await?;
    wait_for(c, "#name-error").await?;
    let focused = c
        .execute("return document.activeElement.id;", vec![])
        .await?;
    assert_eq!(
        focused,
        serde_json::json!("name"),
        "focus on the first field in error"
    );
    let hint = c.find(Locator::Css("#name-hint")).await?.text().await?;
    assert_eq!(hint, "Hasta 100 caracteres.");
    c.find(Locator::Css("#name"))
        .await?
        .send_keys("Paula Móvil")
        .await?;
    c.find(Locator::Css("#phone"))
        .await?
        .send_keys("011 15-4444-7777")
        .await?;
    click(c, "#whatsapp").await?;
    click(c, "#confirm").await?;
    wait_for_text(c, "#notice", "¡Listo! Tu turno quedó reservado.").await?;
    wait_for(c, "#keep").await?;
    shot(c, "booking-confirmation-390").await;
    let url = c.current_url().await?;
    let id = url.path().trim_start_matches("/turnos/").to_owned();

    c.back().await?;
    if let Err(e) = wait_for(c, "#already-booked").await {
        shot(c, "booking-back-failed-390").await;
        let url = c.current_url().await?;
        let text = crate::chromium::body_text(c).await;
        panic!("Back shows no «ya reservaste» ({e}) at {url}: {text}");
    }
    let said = c
        .find(Locator::Css("#already-booked"))
        .await?
        .text()
        .await?;
    assert!(said.starts_with("Ya reservaste este turno"), "{said}");
    assert!(
        c.find(Locator::Css("#details-form")).await.is_err(),
        "no form to send again"
    );
    shot(c, "booking-back-390").await;
    let href = c
        .find(Locator::Css("#booked-link"))
        .await?
        .attr("href")
        .await?
        .unwrap_or_default();
    assert!(href.starts_with(&format!("/turnos/{id}?token=")), "{href}");
    click(c, "#booked-link").await?;
    wait_for(c, "#keep").await?;
    Ok(())
}
